package redistest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// TestPrefixIsOwnAndCleaned: each call gives another prefix, and the
// keys under it are gone once the test that asked for it has ended.
func TestPrefixIsOwnAndCleaned(t *testing.T) {
	url := URL(t)
	var prefix string
	t.Run("writer", func(t *testing.T) {
		prefix = Prefix(t, url, "rtt")
		if other := Prefix(t, url, "rtt"); other == prefix || !strings.HasPrefix(prefix, "rtt") {
			t.Fatalf("Prefix = %q, then %q; want two prefixes starting with rtt", prefix, other)
		}
		c := client(t, url)
		if err := c.Do(context.Background(), c.B().Set().Key(prefix+"k").Value("v").Build()).Error(); err != nil {
			t.Fatal(err)
		}
	})
	c := client(t, url)
	n, err := c.Do(context.Background(), c.B().Exists().Key(prefix+"k").Build()).AsInt64()
	if err != nil || n != 0 {
		t.Errorf("EXISTS %sk after the test = %d, %v; want 0", prefix, n, err)
	}
}

func client(t *testing.T, url string) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.DisableCache, opt.Dialer.Timeout = true, 2*time.Second
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
