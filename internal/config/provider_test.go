package config

import (
	"strings"
	"testing"

	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/policy"
)

const entraIssuer = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"

// TestProviderProfileRules: oidc.provider refuses an unknown profile, and
// the entra and google profiles' rules come out under their keys: a
// multi-tenant or personal-accounts Entra issuer, a missing domain list,
// graph_url without entra.
func TestProviderProfileRules(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown profile", "oidc:\n  provider: azure\n", "oidc.provider: must be one of"},
		{"entra common", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: https://login.microsoftonline.com/common/v2.0\n", `oidc.issuer_url: with provider entra must name one tenant by its id, not "common"`},
		{"entra organizations", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: https://login.microsoftonline.com/organizations/v2.0\n", `oidc.issuer_url: with provider entra must name one tenant by its id, not "organizations"`},
		{"entra consumers", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: https://login.microsoftonline.com/consumers/v2.0\n", `oidc.issuer_url: with provider entra must name one tenant by its id, not "consumers"`},
		{"entra personal tenant", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0\n", `oidc.issuer_url: with provider entra must name one tenant by its id, not "9188040d-6c67-4c5b-b112-36a304b66dad"`},
		{"entra v1 issuer", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/\n", "oidc.issuer_url: with provider entra must be a v2.0 issuer"},
		{"entra without domains", "oidc:\n  provider: entra\n  issuer_url: " + entraIssuer + "\n", `oidc.allowed_email_domains: required with provider "entra"`},
		{"google without domains", "oidc:\n  provider: google\n  issuer_url: https://accounts.google.com\n", `oidc.allowed_email_domains: required with provider "google"`},
		{"graph url without entra", "oidc:\n  graph_url: https://graph.microsoft.com\n", `oidc.graph_url: is only used with profile "entra"`},
		{"graph url plain http", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: " + entraIssuer + "\n  graph_url: http://graph.example.com\n", "oidc.graph_url: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), append(requiredEnv(tc.doc), secretEnv...))
			if err == nil || !hasProblem(err, tc.want) {
				t.Errorf("Parse(%q) = %v; want a problem starting %q", tc.doc, err, tc.want)
			}
			if err != nil && strings.Count(err.Error(), "oidc.provider:") > 1 {
				t.Errorf("Parse(%q) = %v; want oidc.provider named once", tc.doc, err)
			}
		})
	}
}

// TestProviderProfileMapping: oidc.provider reaches the oidc and policy
// Options with the same name, generic by default, and the sovereign-cloud
// and loopback Entra issuers are read as tenant-specific.
func TestProviderProfileMapping(t *testing.T) {
	tests := []struct {
		name, doc string
		want      string
	}{
		{"default", "", "generic"},
		{"entra", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: " + entraIssuer + "\n", "entra"},
		{"entra sovereign cloud", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0\n", "entra"},
		{"entra loopback emulation", "oidc:\n  provider: entra\n  allowed_email_domains: [example.com]\n  issuer_url: http://127.0.0.1:8080/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0\n  graph_url: http://127.0.0.1:8081\n", "entra"},
		{"google", "oidc:\n  provider: google\n  allowed_email_domains: [example.com]\n  issuer_url: https://accounts.google.com\n", "google"},
		{"okta", "oidc:\n  provider: okta\n", "okta"},
		{"keycloak", "oidc:\n  provider: keycloak\n", "keycloak"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc), append(requiredEnv(tc.doc), secretEnv...))
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tc.doc, err)
			}
			if got := c.OIDCOptions(nil).Profile; got != oidc.Profile(tc.want) {
				t.Errorf("OIDCOptions().Profile = %q; want %q", got, tc.want)
			}
			if got := c.PolicyOptions().Provider; got != policy.Provider(tc.want) {
				t.Errorf("PolicyOptions().Provider = %q; want %q", got, tc.want)
			}
			if !strings.Contains(c.Redacted(), "provider: "+tc.want) {
				t.Errorf("Redacted() does not print provider: %s", tc.want)
			}
			if ProfileRules(tc.want) == "" {
				t.Errorf("ProfileRules(%q) is empty", tc.want)
			}
		})
	}
}
