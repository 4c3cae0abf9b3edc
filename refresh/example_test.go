package refresh_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rezigate/rezigate/oidc"
	"github.com/rezigate/rezigate/refresh"
	"github.com/rezigate/rezigate/sessions"
)

// A Refresher on its own, with a judge that keeps users of one email
// domain: a due session is refreshed, and once the provider says the user
// moved to another domain, the session ends. A real program passes a
// redisstore.Store and its *oidc.Provider; here an in-memory store and a
// provider that answers what it is told stand in for them.
func Example() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := newMemStore("cookie", sessions.Session{UID: "u-1", Email: "alice@example.com", RefreshToken: "rt", CheckDue: now})
	provider := &idp{id: oidc.Identity{Subject: "alice", Email: "alice@example.com"}}
	judge := func(cur sessions.Session, id oidc.Identity) (sessions.Session, error) {
		if id.Email != "" && id.Email != "alice@example.com" {
			return cur, &refresh.RuleError{Rule: "email_domains", Reason: "not example.com"}
		}
		return cur, nil
	}
	r, err := refresh.New(refresh.Options{Store: store, Provider: provider, Judge: judge, Interval: 15 * time.Minute,
		Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	show := func() {
		s, _ := store.get("cookie")
		s, live, err := r.IfDue(ctx, "cookie", s)
		fmt.Printf("%s live=%v err=%v refresh token %q, next check %s\n", now.Format(time.TimeOnly), live, err, s.RefreshToken, s.CheckDue.Format(time.TimeOnly))
	}

	show() // due: refreshed
	now = now.Add(10 * time.Minute)
	show() // not due: used as it is
	now = now.Add(10 * time.Minute)
	provider.id.Email = "alice@example.org"
	show() // due, and the judge refuses: signed out
	_, ok := store.get("cookie")
	fmt.Println("session kept:", ok)
	// Output:
	// 12:00:00 live=true err=<nil> refresh token "rotated-rt", next check 12:15:00
	// 12:10:00 live=true err=<nil> refresh token "rotated-rt", next check 12:15:00
	// 12:20:00 live=false err=<nil> refresh token "rotated-rt", next check 12:15:00
	// session kept: false
}
