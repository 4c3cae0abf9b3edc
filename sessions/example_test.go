package sessions_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rezigate/rezigate/sessions"
)

func ExampleCookieStore() {
	ctx := context.Background()
	secret := bytes.Repeat([]byte("k"), 32) // in production: 32+ random bytes from the environment
	var store sessions.Store
	store, err := sessions.NewCookieStore(sessions.CookieOptions{Settings: sessions.Settings{
		Deployment: sessions.DeploymentOf("https://rms.example.com/"), // its sessions open nowhere else
		Secrets:    [][]byte{secret},
	}})
	if err != nil {
		panic(err)
	}
	value, err := store.Put(ctx, sessions.Session{UID: "u-123", Email: "alice@example.com", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		panic(err)
	}
	s, err := store.Get(ctx, value)
	fmt.Println(s.Email, err)

	_, err = store.Get(ctx, value[:len(value)-2]+"xx")
	fmt.Println(errors.Is(err, sessions.ErrNotFound))

	_, revocable := store.(sessions.Revoker)
	fmt.Println(store.Settings().SetCookieName(), store.Settings().MaxAge, revocable)
	// Output:
	// alice@example.com <nil>
	// true
	// __Host-_rezigate 8h0m0s false
}
