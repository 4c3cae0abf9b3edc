// Package config reads the rezigate configuration file: its YAML schema,
// defaults, environment overrides and validation.
//
// The file is the contract with operators, so the package is strict:
//
//   - Every key has a default (see [Defaults]) except the few that cannot
//     have one: public_url, the OIDC client, the secrets and the Rezi login
//     URL. A key written with no value keeps its default.
//   - A key the schema does not know is an error naming its full path
//     ("oidc.client_secrt: unknown key"), because a typo in a security
//     setting must not silently fall back to the default.
//   - Every key can be overridden by an environment variable named
//     [EnvPrefix] + the key path in upper snake case: rezi.private_key is
//     REZIGATE_REZI_PRIVATE_KEY. Lists (session.secrets, oidc.scopes,
//     oidc.allowed_email_domains) are comma-separated. A REZIGATE_ variable
//     that names no key is an error for the same reason as an unknown key.
//     Secrets are meant to come from the environment, not from the file.
//   - [Config.Validate] reports every problem at once, joined with
//     [errors.Join], one line per problem in the form "yaml.path: what is
//     wrong", so an operator fixes the file in one pass.
//   - Secret values (oidc.client_secret, session.secrets, identity.uid_secret,
//     rezi.private_key) are of type [Secret]: they print, log and marshal as
//     "REDACTED", and no error message ever contains one.
//
// [Parse] and [Load] apply, in order: defaults, the YAML document,
// environment overrides, normalisation (a trailing "/" on public_url and
// rezi.api_url is dropped; email domains and log settings are lower-cased)
// and validation. They return a config only when all of it succeeded.
//
// The package is used by the rezigate command only. Embedders configure the
// oidc, rezi, proxy and middleware packages through their own Options, which
// validate themselves.
package config
