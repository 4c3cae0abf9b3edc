// Package e2e holds the end-to-end tests of rezigate with real parts: the
// OpenID providers Dex, the zitadel/oidc example and Ory Hydra, the ACME
// CA Pebble, Redis, headless Chromium, nginx and Tomcat, all on loopback. The
// tests carry the build tag e2e, so plain `go test ./...` skips them; run
// e2e/run.sh, which installs the parts with e2e/install.sh first.
package e2e
