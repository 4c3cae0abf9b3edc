package redisstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/rueidis"
)

// ErrMisconfigured is wrapped by the errors of New and Connect when Redis
// answered and refused the URL, the password or the topology it names: a
// Sentinel URL whose hosts are not Sentinels, a database number on a
// Cluster, a wrong password, a URL naming a replica, rediss:// at a Redis
// that speaks plain TCP or redis:// at one that speaks TLS only. Trying again cannot
// help, so Connect returns it at once instead of retrying for ever. The
// error's text says what to check; it never holds the URL or a password.
var ErrMisconfigured = errors.New("redisstore: URL: Redis refuses this configuration")

// misconfigured returns ErrMisconfigured with a hint when err says that
// the configuration cannot work, and nil when err may pass (Redis down,
// slow, loading, failing over).
func misconfigured(err error, co *rueidis.ClientOption) error {
	if err == nil {
		return nil
	}
	var (
		re   *rueidis.RedisError
		rh   tls.RecordHeaderError
		ua   x509.UnknownAuthorityError
		he   x509.HostnameError
		ci   x509.CertificateInvalidError
		cv   *tls.CertificateVerificationError
		wt   *wrongTransportError
		hint string
	)
	switch {
	case errors.As(err, &wt):
		hint = wt.hint()
	case co.Sentinel.MasterSet != "" && rueidis.IsRedisNil(err):
		hint = "the Sentinels watch no primary named by ?master_set=: check the name (SENTINEL MASTERS lists them)"
	case errors.As(err, &rh), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci), errors.As(err, &cv):
		hint = "TLS failed: rediss:// needs a Redis serving TLS with a certificate this host trusts for the name in the URL; redis:// is plain TCP"
	case errors.As(err, &re):
		hint = redisHint(re.Error(), co)
	case errors.Is(err, errReplica):
		hint = "the URL names a replica, which refuses writes: name the primary, or list the Sentinels with ?master_set="
	}
	if hint == "" {
		return nil
	}
	return fmt.Errorf("%w: %s (%w)", ErrMisconfigured, hint, err)
}

// errReplica is New's error for a plain URL that names a replica.
var errReplica = errors.New("the server is a replica (ROLE)")

// redisHint says what a Redis error reply at connection time means, or ""
// when it is one that may pass (LOADING, BUSY, MASTERDOWN, TRYAGAIN,
// CLUSTERDOWN and the like).
func redisHint(msg string, co *rueidis.ClientOption) string {
	sentinel := co.Sentinel.MasterSet != ""
	up := strings.ToUpper(msg)
	switch {
	case sentinel && (strings.HasPrefix(up, "NOAUTH") || strings.HasPrefix(up, "WRONGPASS") ||
		strings.Contains(up, "UNKNOWN COMMAND 'SENTINEL'") || strings.Contains(up, "UNKNOWN COMMAND `SENTINEL`")):
		return "with ?master_set= the URL's hosts (and ?addr=) must be Sentinels, not Redis data nodes; " +
			"and the passwords must match: the URL's for the primary and replicas, the Sentinel password (REZIGATE_REDIS_SENTINEL_PASSWORD) for Sentinels that require one"
	case strings.HasPrefix(up, "NOAUTH"), strings.HasPrefix(up, "WRONGPASS"), strings.HasPrefix(up, "NOPERM"),
		strings.Contains(up, "AUTH") && strings.Contains(up, "NO PASSWORD IS SET"),
		strings.Contains(up, "AUTH") && strings.Contains(up, "WITHOUT ANY PASSWORD"):
		return "Redis refused the user or password: check the URL's user and password"
	case strings.Contains(up, "SELECT IS NOT ALLOWED IN CLUSTER MODE"):
		return "a Redis Cluster has only database 0: remove the database number (/N or ?db=) from the URL"
	case strings.Contains(up, "CLUSTER SUPPORT DISABLED"):
		return "several addresses (?addr=) make a Cluster URL, and this Redis is not a Cluster: name one server, or the Sentinels with ?master_set="
	case strings.Contains(up, "DB INDEX IS OUT OF RANGE"):
		return "the database number is out of range for this Redis (its databases setting)"
	case strings.HasPrefix(up, "NOPROTO"), strings.Contains(up, "UNKNOWN COMMAND 'HELLO'"), strings.Contains(up, "UNKNOWN COMMAND `HELLO`"):
		return "Redis 6 or newer is needed (RESP3, for client-side caching)"
	}
	return ""
}

// checkRole fails with errReplica when a plain URL (neither Sentinel nor
// Cluster) names a replica: every write would be refused with READONLY.
func checkRole(ctx context.Context, client rueidis.Client) error {
	if client.Mode() != rueidis.ClientModeStandalone {
		return nil
	}
	role, err := client.Do(ctx, client.B().Role().Build()).ToArray()
	if err != nil {
		return err
	}
	if len(role) > 0 {
		if r, _ := role[0].ToString(); r == "slave" || r == "replica" {
			return errReplica
		}
	}
	return nil
}
