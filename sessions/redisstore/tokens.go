package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/rezigate/rezigate/optionerr"
)

const (
	// DefaultTokenMargin is TokenCacheOptions.Margin when it is zero.
	DefaultTokenMargin = 5 * time.Minute
	// MaxTokenTTL is the longest a token is cached, whatever its expiry
	// says: Rezi's longest token life.
	MaxTokenTTL = time.Hour
)

// TokenCacheOptions configure NewTokenCache.
type TokenCacheOptions struct {
	// Margin is how long before its expiry a cached token stops being
	// handed out, so a user never receives one about to lapse. Zero means
	// DefaultTokenMargin; it must not be negative and must be shorter
	// than MaxTokenTTL.
	Margin time.Duration
}

// Validate reports every problem with o at once, as *optionerr.Error
// values reading "redisstore: Field: what is wrong".
func (o TokenCacheOptions) Validate() error {
	var errs []error
	if o.Margin < 0 {
		errs = append(errs, optionerr.New("redisstore", "Margin", "must not be negative"))
	} else if o.Margin >= MaxTokenTTL {
		errs = append(errs, optionerr.New("redisstore", "Margin", "must be shorter than %v", MaxTokenTTL))
	}
	return errors.Join(errs...)
}

// TokenCache shares Rezi user tokens between replicas, so a user who
// clicks through to the RMS on one replica and then another costs one
// token request, not two. Tokens are stored encrypted with the session
// secrets, under an HMAC of the user's email and uid, until their expiry
// minus Margin. It is safe for concurrent use.
type TokenCache struct {
	s      *Store
	margin time.Duration
}

// NewTokenCache returns a TokenCache kept in s's Redis.
func NewTokenCache(s *Store, opts TokenCacheOptions) (*TokenCache, error) {
	if s == nil {
		return nil, errors.New("redisstore: token cache: nil store")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Margin == 0 {
		opts.Margin = DefaultTokenMargin
	}
	return &TokenCache{s: s, margin: opts.Margin}, nil
}

func (c *TokenCache) key(email, uid string) string {
	return c.s.prefix + kindToken + c.s.keys.indexName("rezi token", email+"\x00"+uid)
}

// Get returns the cached token of the user, if one is still usable. A
// value that does not decrypt (written with a secret no longer
// configured) is a miss. err is non-nil only when Redis cannot answer
// (wrapping sessions.ErrUnavailable); then fetch a token as on a miss.
func (c *TokenCache) Get(ctx context.Context, email, uid string) (token string, ok bool, err error) {
	key := c.key(email, uid)
	ctx, cancel := c.s.op(ctx)
	defer cancel()
	b, err := c.s.client.Do(ctx, c.s.client.B().Get().Key(key).Build()).AsBytes()
	if rueidis.IsRedisNil(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, unavailable("token cache get", err)
	}
	plain, ok := c.s.keys.open(key, b)
	if !ok {
		return "", false, nil
	}
	return string(plain), true, nil
}

// Put caches the user's token until exp minus Margin, and at most
// MaxTokenTTL. A token that would be cached for no time at all is not
// stored, which is not an error.
func (c *TokenCache) Put(ctx context.Context, email, uid, token string, exp time.Time) error {
	if token == "" {
		return errors.New("redisstore: token cache put: empty token")
	}
	ttl := min(exp.Add(-c.margin).Sub(c.s.now()), MaxTokenTTL)
	if ttl < time.Millisecond {
		return nil
	}
	key := c.key(email, uid)
	ctx, cancel := c.s.op(ctx)
	defer cancel()
	set := c.s.client.B().Set().Key(key).Value(rueidis.BinaryString(c.s.keys.seal(key, []byte(token)))).Px(ttl.Truncate(time.Millisecond)).Build()
	if err := c.s.client.Do(ctx, set).Error(); err != nil {
		return unavailable("token cache put", err)
	}
	return nil
}

// String names the cache without its secrets.
func (c *TokenCache) String() string {
	return fmt.Sprintf("redisstore.TokenCache{Margin:%v}", c.margin)
}
