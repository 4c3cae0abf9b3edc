package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rezigate/rezigate/identity"
	"github.com/rezigate/rezigate/internal/config"
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
	sub := fs.String("sub", "", "the provider's `subject` of the person whose sessions end (with oidc.provider entra: their object id, oid, from which entra uids are derived)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if fs.NArg() != 0 || given["uid"] == given["sub"] {
		fmt.Fprintln(stderr, "rezigate revoke: give exactly one of -uid or -sub, and no other arguments")
		fs.Usage()
		return 2
	}
	// A mistyped uid or an empty subject names nobody: refuse it rather
	// than report "revoked 0 sessions" and leave the person signed in.
	switch {
	case given["uid"] && !validUID(*uid):
		fmt.Fprintln(stderr, "rezigate revoke: -uid must be exactly 64 lower-case hex characters (the X-Forwarded-User value)")
		return 2
	case given["sub"] && strings.TrimSpace(*sub) == "":
		fmt.Fprintln(stderr, "rezigate revoke: -sub must not be empty")
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
	target := *uid
	if *sub != "" {
		target = identity.UID([]byte(cfg.Identity.UIDSecret), cfg.OIDC.IssuerURL, *sub)
	}
	ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
	defer cancel()
	store, err := redisstore.New(ctx, cfg.RedisOptions())
	if err != nil {
		fmt.Fprintln(stderr, "rezigate revoke:", cfg.RedisProblem(err))
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

// validUID reports whether s is a uid as rezigate derives it: the hex
// encoding, in lower case, of an HMAC-SHA256.
func validUID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
