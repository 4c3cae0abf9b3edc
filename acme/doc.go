// Package acme gives rezigate certificates from an ACME CA (Let's
// Encrypt, or a private CA such as step-ca or Pebble) through
// github.com/caddyserver/certmagic, which obtains them, renews them before
// they expire and staples their OCSP responses.
//
//	m, err := acme.New(ctx, acme.Options{
//		Domains:  []string{"rms.example.com"},
//		Email:    "ops@example.com",
//		CacheDir: "/var/lib/rezigate/acme",
//		TLSAddr:  ":443",
//	})
//	defer m.Close()
//	srv := &http.Server{Handler: h, TLSConfig: m.TLSConfig()}
//	srv.ServeTLS(ln, "", "") // ln bound to :443 before New
//
// The CA checks control of each name with a challenge that rezigate
// answers itself: TLS-ALPN-01 on the TLS listener (Manager.TLSConfig
// answers it during the handshake), and HTTP-01 on a plain-HTTP listener
// when there is one (Options.HTTPAddr, serving Manager.HTTPHandler).
// Certificates are obtained in the background: New returns at once, and
// the listeners must serve for the challenge to succeed.
//
// # Storage and replicas
//
// The account key, the certificates and their private keys are kept in
// Options.CacheDir, or in Options.Storage. RedisStorage keeps them in
// the Redis of the session store, encrypted with keys derived from the
// session secrets under a label of its own, together with the issuance
// locks: of N replicas sharing it, one orders each certificate while the
// others wait for the lock and then load what it stored, and any replica
// answers a challenge another one began.
package acme
