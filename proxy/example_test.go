package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/rezigate/rezigate/proxy"
)

// The upstream sees the identity from the Identity function, never the
// one a client sent.
func ExampleNew() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s (%s)", r.Header.Get("X-Forwarded-Email"), r.Header.Get("X-Forwarded-User"))
	}))
	defer app.Close()
	upstream, _ := url.Parse(app.URL)
	p, err := proxy.New(proxy.Options{
		Upstream: upstream,
		Identity: func(r *http.Request) (email, uid string, ok bool) {
			return "alice@example.com", "3f2a", true // normally from the session
		},
	})
	if err != nil {
		panic(err)
	}
	front := httptest.NewServer(p)
	defer front.Close()

	req, _ := http.NewRequest("GET", front.URL, nil)
	req.Header.Set("X-Forwarded-Email", "mallory@example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: hello alice@example.com (3f2a)
}
