package redisstore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/optionerr"
	"github.com/rezigate/rezigate/sessions"
	"github.com/rezigate/rezigate/sessions/internal/storecheck"
)

const (
	// DefaultPrefix is Options.Prefix when it is empty.
	DefaultPrefix = "rezigate:"
	// DefaultLocalCacheTTL is Options.LocalCacheTTL when it is zero.
	DefaultLocalCacheTTL = 30 * time.Second
	// MaxLocalCacheTTL is the longest Options.LocalCacheTTL accepted: the
	// longest a revoked session can stay usable on a replica that missed
	// Redis's invalidation message.
	MaxLocalCacheTTL = time.Minute
	// DefaultLocalCacheSize is Options.LocalCacheSize when it is zero.
	DefaultLocalCacheSize = 16 << 20
	// DefaultDialTimeout is Options.DialTimeout when it is zero.
	DefaultDialTimeout = 2 * time.Second
	// DefaultReadTimeout is Options.ReadTimeout when it is zero.
	DefaultReadTimeout = time.Second
	// DefaultReplicaAckTimeout is Options.ReplicaAckTimeout when it is
	// zero.
	DefaultReplicaAckTimeout = 500 * time.Millisecond
	// MaxTimeout is the longest DialTimeout or ReadTimeout accepted.
	MaxTimeout = 30 * time.Second

	maxPrefixLen = 64
)

// Options configure New. Settings (its Deployment and Secrets) and URL
// are required; every other zero field takes the Default constant beside
// it.
type Options struct {
	// Settings are the session settings, given here once: the middleware
	// reads them back from the store (Store.Settings). The secrets seal
	// the cookies (each holds a random session handle) and encrypt every
	// value stored in Redis; every key the store derives (the cookie's
	// seal, the encryption of values, and the names of sessions, indexes
	// and logout token IDs) is derived from the Deployment too, so two
	// deployments that share the secrets and Redis open neither each
	// other's cookies nor each other's data, and revoke only their own
	// sessions. MaxAge is the longest TTL of any key the store writes.
	Settings sessions.Settings
	// URL says where Redis is, in a form rueidis.ParseURL reads:
	// redis://[user@]host:port[/db] (plain TCP), rediss://… (TLS, the
	// certificate verified), unix:///path/to/socket, several
	// ?addr=host:port for a Cluster, and ?master_set=NAME to reach the
	// primary through Sentinels listed as the hosts. The query parameters
	// that would weaken the store (skip_verify, protocol, client_cache,
	// dial_timeout, write_timeout, max_retries) are refused. The URL may
	// hold a password (when it comes from the environment); it is never
	// printed. Use rediss:// for any Redis beyond loopback: redis:// sends
	// the password and every session in the clear.
	URL string
	// Password authenticates to Redis (with Sentinel: to the primary and
	// replicas; the Sentinels take SentinelPassword). Empty means the
	// URL's password, or none; setting both is an error. Take it from the
	// environment.
	Password string
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// of a Sentinel URL (?master_set=), for Sentinels that require a
	// password (their requirepass) or an ACL user; empty means none. They
	// are an error without ?master_set=. With rediss:// the Sentinels are
	// reached over TLS too, so the password never travels in the clear.
	// Take the password from the environment.
	SentinelUsername, SentinelPassword string
	// Prefix starts every key the store writes, so one Redis can serve
	// several deployments. Empty means DefaultPrefix. At most 64
	// printable ASCII bytes without spaces.
	Prefix string
	// LocalCacheTTL is how long a replica may answer Get from its own
	// memory (Redis client-side caching with invalidation): a session
	// deleted anywhere stops working on every replica as soon as Redis's
	// invalidation arrives, and at the latest after this TTL should one
	// be lost. Zero means DefaultLocalCacheTTL; at most MaxLocalCacheTTL;
	// negative turns the local cache off (every Get is a round trip).
	LocalCacheTTL time.Duration
	// LocalCacheSize bounds the local cache, in bytes, for each connection
	// to each Redis node. Zero means DefaultLocalCacheSize; it must not be
	// negative.
	LocalCacheSize int
	// DialTimeout bounds connecting to Redis. Zero means
	// DefaultDialTimeout; at most MaxTimeout.
	DialTimeout time.Duration
	// ReadTimeout bounds every store call, reconnecting included: past it
	// the call fails with sessions.ErrUnavailable. Zero means
	// DefaultReadTimeout; at most MaxTimeout.
	ReadTimeout time.Duration
	// ReplicaAckTimeout bounds how long a revocation (Delete, DeleteUser,
	// DeleteSID, SeenJTI) waits, when Redis has replicas, for one of them
	// to acknowledge it (Redis WAIT), so that a failover right after
	// cannot bring a signed-out session back: replication is
	// asynchronous. When no replica acknowledges in time the call fails
	// with sessions.ErrUnavailable (the middleware answers 503, never
	// "signed out"). A Redis without replicas is never waited for; whether
	// there are any is asked (INFO replication) at most every few seconds.
	// Sessions themselves (Put, Update) never wait. Zero means
	// DefaultReplicaAckTimeout, or half of ReadTimeout if that is less;
	// it must be shorter than ReadTimeout;
	// negative turns the wait off (an acknowledged revocation may then be
	// lost in a failover).
	ReplicaAckTimeout time.Duration
}

// Validate reports every problem with o at once: errors.Join of
// *optionerr.Error values, each reading "redisstore: Field: what is
// wrong". It does no network I/O and never includes the URL, the
// password or a secret in its result.
func (o Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, optionerr.New("redisstore", field, format, args...))
	}
	for _, fe := range optionerr.Fields(o.Settings.Validate()) {
		add("Settings."+fe.Field, "%s", fe.Msg)
	}
	if msg := checkURL(o.URL); msg != "" {
		add("URL", "%s", msg)
	} else if o.Password != "" && urlPassword(o.URL) != "" {
		add("Password", "set both here and in URL; keep one")
	}
	if o.SentinelUsername != "" || o.SentinelPassword != "" {
		field := "SentinelPassword"
		if o.SentinelPassword == "" {
			field = "SentinelUsername"
		}
		if co, err := rueidis.ParseURL(o.URL); err == nil && co.Sentinel.MasterSet == "" {
			add(field, "is set, but the URL names no Sentinels (?master_set=)")
		} else if !printable(o.SentinelUsername) {
			add("SentinelUsername", "must be printable ASCII without spaces")
		}
	}
	if len(o.Prefix) > maxPrefixLen {
		add("Prefix", "must be at most %d bytes", maxPrefixLen)
	} else if !printable(o.Prefix) {
		add("Prefix", "must be printable ASCII without spaces")
	}
	if o.LocalCacheTTL > MaxLocalCacheTTL {
		add("LocalCacheTTL", "must be at most %v, so that a lost invalidation cannot keep a revoked session alive longer", MaxLocalCacheTTL)
	}
	if o.LocalCacheSize < 0 {
		add("LocalCacheSize", "must not be negative")
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"DialTimeout", o.DialTimeout}, {"ReadTimeout", o.ReadTimeout}} {
		if d.v < 0 {
			add(d.field, "must not be negative")
		} else if d.v > MaxTimeout {
			add(d.field, "must be at most %v", MaxTimeout)
		}
	}
	if d := o.withDefaults(); o.ReadTimeout >= 0 && o.ReadTimeout <= MaxTimeout && o.ReplicaAckTimeout > 0 && o.ReplicaAckTimeout >= d.ReadTimeout {
		add("ReplicaAckTimeout", "must be shorter than ReadTimeout (%v), which bounds the whole call", d.ReadTimeout)
	}
	return errors.Join(errs...)
}

// refusedParams are query parameters of rueidis.ParseURL that would weaken
// the store, with the reason given.
var refusedParams = map[string]string{
	"skip_verify":   "must not turn off TLS certificate verification",
	"protocol":      "must not be set: client-side caching needs RESP3",
	"client_cache":  "must not be set: the store relies on client-side caching",
	"dial_timeout":  "must not set dial_timeout: use DialTimeout",
	"write_timeout": "must not set write_timeout: use ReadTimeout",
	"max_retries":   "must not set max_retries: ReadTimeout bounds every call",
}

// allowedParams are the query parameters passed on to rueidis.
var allowedParams = map[string]bool{"addr": true, "master_set": true, "db": true, "client_name": true}

// checkURL returns what is wrong with a URL, or "". The message never
// quotes the URL, which may hold a password.
func checkURL(raw string) string {
	if raw == "" {
		return "required"
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return "must not contain spaces or line breaks"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "cannot be parsed (it is not shown here, as it may hold a password)"
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Hostname() == "" {
			return "must name a host"
		}
	case "unix":
		if u.Path == "" {
			return "must name a socket path"
		}
	default:
		return "scheme must be redis, rediss or unix"
	}
	if u.Fragment != "" {
		return "must not have a fragment"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "has a query that cannot be parsed"
	}
	for k := range q {
		if msg, ok := refusedParams[k]; ok {
			return msg
		}
		if !allowedParams[k] {
			// The name is not quoted: a paste mistake may have put a
			// secret there.
			return "has an unsupported query parameter (supported: addr, master_set, db, client_name)"
		}
	}
	co, err := rueidis.ParseURL(raw)
	if err != nil {
		return "is not a valid Redis URL (bad port, database number or path)"
	}
	if len(co.InitAddress) > 1 && co.Sentinel.MasterSet == "" && co.SelectDB != 0 {
		return "names several addresses (?addr=), a Redis Cluster, which has only database 0: remove the database number (/N or ?db=)"
	}
	return ""
}

// urlPassword returns the password in raw, or "".
func urlPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// safeURL returns raw with any password replaced by REDACTED; a URL that
// cannot be parsed but could hold a password is REDACTED whole.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.ContainsAny(raw, "@:") {
			return storecheck.Redacted
		}
		return raw
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), storecheck.Redacted)
		}
	}
	return u.String()
}

func redactedOrUnset(s string) string {
	if s == "" {
		return ""
	}
	return storecheck.Redacted
}

// String formats o with the URL's password, Password and Secrets shown as
// REDACTED, so %v and %+v never print them.
func (o Options) String() string {
	return fmt.Sprintf("redisstore.Options{Settings:%v URL:%q Password:%s SentinelUsername:%q SentinelPassword:%s Prefix:%q LocalCacheTTL:%v LocalCacheSize:%d DialTimeout:%v ReadTimeout:%v ReplicaAckTimeout:%v}",
		o.Settings, safeURL(o.URL), redactedOrUnset(o.Password), o.SentinelUsername, redactedOrUnset(o.SentinelPassword), o.Prefix,
		o.LocalCacheTTL, o.LocalCacheSize, o.DialTimeout, o.ReadTimeout, o.ReplicaAckTimeout)
}

// GoString makes %#v as safe as %v.
func (o Options) GoString() string { return o.String() }

// LogValue implements slog.LogValuer with the same redactions as String.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("settings", o.Settings),
		slog.String("url", safeURL(o.URL)),
		slog.String("password", redactedOrUnset(o.Password)),
		slog.String("sentinel_username", o.SentinelUsername),
		slog.String("sentinel_password", redactedOrUnset(o.SentinelPassword)),
		slog.String("prefix", o.Prefix),
		slog.Duration("local_cache_ttl", o.LocalCacheTTL),
		slog.Int("local_cache_size", o.LocalCacheSize),
		slog.Duration("dial_timeout", o.DialTimeout),
		slog.Duration("read_timeout", o.ReadTimeout),
		slog.Duration("replica_ack_timeout", o.ReplicaAckTimeout),
	)
}

// withDefaults returns o with every zero field filled in.
func (o Options) withDefaults() Options {
	o.Settings = o.Settings.WithDefaults()
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.LocalCacheTTL == 0 {
		o.LocalCacheTTL = DefaultLocalCacheTTL
	}
	if o.LocalCacheSize == 0 {
		o.LocalCacheSize = DefaultLocalCacheSize
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.ReplicaAckTimeout == 0 {
		o.ReplicaAckTimeout = min(DefaultReplicaAckTimeout, o.ReadTimeout/2)
	}
	return o
}
