// Package deploy holds rezigate's deployment examples and the tests that
// keep them correct. It has no code.
//
//   - kubernetes/rezigate-sidecar.yaml runs rezigate as a sidecar in front
//     of an app container, with its secrets in a Secret and its settings in
//     a ConfigMap.
//   - kubernetes/rezigate-redis.yaml runs three replicas that keep their
//     sessions in one persistent Redis (a StatefulSet with a volume and the
//     append-only file), so that a sign-out ends a session everywhere.
//   - systemd/rezigate.service runs the binary as a hardened service, with
//     its secrets in an environment file.
//   - The Dockerfile at the repository root builds the image both use.
//
// The tests parse every example and check what a careless edit would break
// silently: the Service exposing the app or metrics port, a secret in the
// ConfigMap, a dropped security setting, a grace period shorter than the
// graceful shutdown, a config key rezigate would refuse.
package deploy
