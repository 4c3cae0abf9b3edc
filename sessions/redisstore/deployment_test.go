package redisstore

import (
	"errors"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/testsupport/redistest"
	"github.com/rezigate/rezigate/sessions"
)

// deploymentOptions are testOptions for the deployment at publicURL.
func deploymentOptions(url, prefix, publicURL string) Options {
	o := testOptions(url, prefix)
	o.Settings.Deployment = publicURL
	return o
}

// TestDeploymentsShareNothing: two deployments that share the session
// secrets, the cookie name, Redis and the key prefix do not open each
// other's cookies, do not revoke each other's sessions and do not see each
// other's logout token IDs. A cookie of the other deployment is simply no
// session (ErrNotFound), never an error.
func TestDeploymentsShareNothing(t *testing.T) {
	url := redistest.URL(t)
	prefix := testPrefix(t, url)
	a := newTestStore(t, deploymentOptions(url, prefix, "https://a.example.com"))
	b := newTestStore(t, deploymentOptions(url, prefix, "https://b.example.com"))
	sess := aliceSession()
	cookie := mustPut(t, a, sess)

	if got, err := b.Get(ctx, cookie); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("other deployment: Get(cookie) = %+v, %v; want ErrNotFound", got, err)
	}
	if _, err := b.Update(ctx, cookie, func(s sessions.Session) (sessions.Session, error) { return s, nil }); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("other deployment: Update(cookie) = %v; want ErrNotFound", err)
	}
	if _, err := b.LockSession(ctx, cookie, time.Second); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("other deployment: LockSession(cookie) = %v; want ErrNotFound", err)
	}
	if err := b.Delete(ctx, cookie); err != nil {
		t.Errorf("other deployment: Delete(cookie) = %v; want nil (no session of its own)", err)
	}
	if n, err := b.DeleteUser(ctx, sess.UID); err != nil || n != 0 {
		t.Errorf("other deployment: DeleteUser = %d, %v; want 0, nil", n, err)
	}
	if n, err := b.DeleteSID(ctx, sess.SIDHash); err != nil || n != 0 {
		t.Errorf("other deployment: DeleteSID = %d, %v; want 0, nil", n, err)
	}
	if got, err := a.Get(ctx, cookie); err != nil || got.UID != sess.UID {
		t.Fatalf("own deployment: Get(cookie) = %+v, %v; want the session, untouched by the other", got, err)
	}
	if seen, err := a.SeenJTI(ctx, "jti-of-a", time.Minute); err != nil || seen {
		t.Fatalf("SeenJTI = %v, %v; want false", seen, err)
	}
	if seen, err := b.SeenJTI(ctx, "jti-of-a", time.Minute); err != nil || seen {
		t.Errorf("other deployment: SeenJTI(a jti the first recorded) = %v, %v; want false", seen, err)
	}
}
