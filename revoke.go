package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rezigate/rezigate/internal/config"
	"github.com/rezigate/rezigate/middleware"
	"github.com/rezigate/rezigate/sessions/redisstore"
)

// revokeTimeout bounds the whole revoke command: connecting to Redis and
// deleting the sessions.
const revokeTimeout = 30 * time.Second

const revokeUsage = `Usage: rezigate revoke -config FILE (-uid UID | -sub SUBJECT)

Ends every session of one person at once, on every replica, by deleting
them from Redis (session.store: redis). -sub takes the person's subject at
the identity provider and derives the uid as rezigate does:
hex(HMAC-SHA256(identity.uid_secret, oidc.issuer_url + "|" + SUBJECT)).
Prints how many sessions it ended. Exit status: 0 done, 1 the store or the
configuration failed, 2 bad usage.

Flags:
`

// runRevoke is `rezigate revoke`; it returns the exit status.
func runRevoke(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, revokeUsage)
		fs.PrintDefaults()
	}
	path := fs.String("config", "config.yaml", "configuration `file` (YAML)")
	uid := fs.String("uid", "", "the `uid` whose sessions end, as in X-Forwarded-User")
	sub := fs.String("sub", "", "the provider's `subject` of the person whose sessions end")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || (*uid == "") == (*sub == "") {
		fmt.Fprintln(stderr, "rezigate revoke: give exactly one of -uid or -sub, and no other arguments")
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*path, environ)
	switch {
	case errors.Is(err, config.ErrNoFile):
		fmt.Fprintln(stderr, "rezigate revoke:", err)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "%s: configuration is invalid:\n%v\n", *path, err)
		return 1
	}
	if cfg.Session.Store != config.StoreRedis {
		fmt.Fprintln(stderr, "rezigate revoke: needs session.store: redis; with the cookie store a session lives only in its cookie and cannot be revoked before it expires (remove a secret from session.secrets to sign everyone out)")
		return 2
	}
	target := strings.TrimSpace(*uid)
	if *sub != "" {
		target = middleware.DeriveUID([]byte(cfg.Identity.UIDSecret), cfg.OIDC.IssuerURL, *sub)
	}
	ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
	defer cancel()
	store, err := redisstore.New(ctx, cfg.RedisOptions())
	if err != nil {
		fmt.Fprintln(stderr, "rezigate revoke:", err)
		return 1
	}
	defer store.Close()
	n, err := store.DeleteUser(ctx, target)
	if err != nil {
		fmt.Fprintln(stderr, "rezigate revoke:", err)
		return 1
	}
	fmt.Fprintf(stdout, "revoked %d sessions\n", n)
	return 0
}
