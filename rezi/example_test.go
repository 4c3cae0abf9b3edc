package rezi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rezigate/rezigate/rezi"
)

func ExampleClient_UserToken() {
	// A stand-in for the Rezi API; in production leave APIURL empty.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer example-key" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"status":"success","token":"eyJ.example.token"}`)
	}))
	defer api.Close()

	c, err := rezi.New(rezi.Options{APIURL: api.URL + "/v1", PrivateKey: "example-key"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseIdleConnections()

	tok, err := c.UserToken(context.Background(), "ada@example.com", "3f5a…uid")
	switch {
	case errors.Is(err, rezi.ErrTimeout):
		fmt.Println("answer 504")
	case err != nil:
		fmt.Println("answer 502")
	default:
		fmt.Println("redirect to login_url?token=" + tok)
	}

	bad, _ := rezi.New(rezi.Options{APIURL: api.URL, PrivateKey: "wrong-key"})
	defer bad.CloseIdleConnections()
	_, err = bad.UserToken(context.Background(), "ada@example.com", "3f5a…uid")
	var apiErr *rezi.APIError
	fmt.Println(errors.As(err, &apiErr), apiErr.StatusCode, strings.Contains(err.Error(), "wrong-key"))
	// Output:
	// redirect to login_url?token=eyJ.example.token
	// true 401 false
}
