// Package config reads the rezigate command's configuration file and maps
// it onto the Options of the packages it configures.
//
// It owns no rule about those values: every rule and default lives in the
// package whose Options a key fills (oidc, rezi, proxy, middleware), which
// validates itself. This package only
//
//   - decodes the YAML with yaml.v3, refusing a key the schema does not know
//     and suggesting the nearest one ("shutdown_timout: unknown key; did you
//     mean shutdown_timeout?"), with line numbers;
//   - applies environment overrides named [EnvPrefix] + the key path in upper
//     snake case (rezi.private_key is REZIGATE_REZI_PRIVATE_KEY; lists are
//     comma-separated); a REZIGATE_ variable that names no key is an error;
//   - maps the file onto each package's Options ([ZeroOff] is the one place
//     where the file's 0 means "off"), calls their Validate methods and
//     translates each field error to the key it came from, or to the
//     variable when the value came from the environment;
//   - checks the few keys only the command has (listen, metrics_listen,
//     shutdown_timeout, log) and lists unsafe settings as [Config.Warnings].
//
// Secret values are of type [Secret]: they print, log and marshal as
// "REDACTED", and no error message ever contains one.
package config
