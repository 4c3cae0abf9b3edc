package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/internal/demo"
	"github.com/rezigate/rezigate/internal/yamlenv"
)

// runDemo starts the built-in provider, Rezi stand-in and RMS, and serves
// rezigate in front of them, all on loopback, with fresh random secrets.
// With withRedis, sessions live in a redis-server started for the demo.
func runDemo(ctx context.Context, withRedis bool) error {
	ln, err := net.Listen("tcp", "127.0.0.1:4180")
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0") // 4180 is taken: any free port will do
		if err != nil {
			return fmt.Errorf("demo: listen: %w", err)
		}
	}
	public := "http://" + ln.Addr().String()
	env, err := demo.Start(ctx, public+"/oauth2/callback")
	if err != nil {
		ln.Close()
		return err
	}
	defer env.Close()

	cfg := config.Defaults()
	cfg.Listen = ln.Addr().String()
	cfg.PublicURL = public
	cfg.Upstream = env.RMSURL
	cfg.ShutdownTimeout = yamlenv.Duration(3 * time.Second)
	cfg.OIDC.IssuerURL = env.ProviderURL
	cfg.OIDC.ClientID = env.ClientID
	cfg.OIDC.ClientSecret = yamlenv.Secret(env.ClientSecret)
	cfg.OIDC.AllowedEmailDomains = []string{"example.com"}
	cfg.Session.Secrets = []yamlenv.Secret{randomSecret()}
	cfg.Session.Secure = false // plain http on loopback
	cfg.Identity.UIDSecret = randomSecret()
	cfg.Rezi.APIURL = env.ReziAPIURL
	cfg.Rezi.PrivateKey = yamlenv.Secret(env.PrivateKey)
	cfg.Rezi.LoginURL = "/login/" // the demo RMS, reached through the proxy
	ready := func() { printBanner(public, env) }
	if withRedis {
		r, err := startDemoRedis(ctx)
		if err != nil {
			return err
		}
		defer r.stop()
		ready = func() {
			fmt.Fprintf(os.Stderr, "\n  Sessions live in Redis: redis-server PID %d on 127.0.0.1, stopped on exit.\n", r.PID())
			printBanner(public, env)
		}
		cfg.Session.Store = config.StoreRedis
		cfg.Redis.URL = yamlenv.Secret(r.URL())
		cfg.Session.RefreshInterval = yamlenv.Duration(time.Minute)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return serve(ctx, &cfg, ln, ready)
}

func randomSecret() yamlenv.Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return yamlenv.Secret(base64.RawURLEncoding.EncodeToString(b))
}

func printBanner(public string, env *demo.Env) {
	fmt.Fprintf(os.Stderr, `
  rezigate DEMO MODE: NOT FOR PRODUCTION. Everything runs on loopback with
  throw-away secrets, a built-in identity provider and a fake Rezi API.

  Open:  %s/rezi?openOnboarding=true&closeOnboardingRedirect=/dashboard/education

  Sign in as one of:
`, public)
	for _, u := range env.Users {
		note := "allowed: lands in the RMS"
		switch {
		case !u.EmailVerified:
			note = "email not verified: gets the 403 page"
		case !strings.HasSuffix(u.Email, "@example.com"):
			note = "outside the allowed domain: gets the 403 page"
		}
		fmt.Fprintf(os.Stderr, "    %-28s password %s   (%s)\n", u.Email, u.Password, note)
	}
	fmt.Fprintf(os.Stderr, `
  Also try %s/ (the demo app behind the proxy, showing the identity headers)
  and %s/oauth2/sign_out. Stop with Ctrl-C.

`, public, public)
}
