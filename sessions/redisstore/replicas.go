package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// replicaCheckInterval is how long the store trusts what it last learnt
// of whether the primaries have replicas (INFO replication).
const replicaCheckInterval = 5 * time.Second

// errNotReplicated is the cause of a revocation's error when no replica
// acknowledged it within ReplicaAckTimeout.
var errNotReplicated = errors.New("revocation not yet replicated: no replica acknowledged it in time, and a failover now could bring the session back")

// replicaState is what the store last learnt of the primaries' replicas.
type replicaState struct {
	has     bool // a primary reported connected replicas
	checked time.Time
}

// replicas tracks whether the deployment has replicas, so that only then
// revocations wait for one (WAIT), and a lone Redis pays nothing.
type replicas struct {
	state      atomic.Pointer[replicaState]
	refreshing sync.Mutex
}

// replicated reports whether revocations must wait for a replica: the
// last answer of INFO replication, asked again (by one caller at a time,
// the others keeping the last answer) once replicaCheckInterval passes.
func (s *Store) replicated(ctx context.Context) bool {
	st := s.replicas.state.Load()
	if st != nil && s.now().Sub(st.checked) < replicaCheckInterval {
		return st.has
	}
	if !s.replicas.refreshing.TryLock() {
		return st != nil && st.has
	}
	defer s.replicas.refreshing.Unlock()
	has, err := s.askReplicas(ctx)
	if err != nil { // keep what was known; the write itself will tell
		return st != nil && st.has
	}
	s.replicas.state.Store(&replicaState{has: has, checked: s.now()})
	return has
}

// askReplicas asks the primary (with a Cluster: every node of the
// topology) for INFO replication, and reports whether a primary has
// connected replicas.
func (s *Store) askReplicas(ctx context.Context) (bool, error) {
	if s.client.Mode() != rueidis.ClientModeCluster {
		info, err := s.client.Do(ctx, s.client.B().Info().Section("replication").Build()).ToString()
		if err != nil {
			return false, err
		}
		return connectedReplicas(info) > 0, nil
	}
	var first error
	for _, n := range s.client.Nodes() {
		info, err := n.Do(ctx, n.B().Info().Section("replication").Build()).ToString()
		if err != nil {
			first = firstErr(first, err)
			continue
		}
		if strings.Contains(info, "role:master") && connectedReplicas(info) > 0 {
			return true, nil
		}
	}
	return false, first
}

// firstErr returns first, or err when first is nil.
func firstErr(first, err error) error {
	if first == nil {
		return err
	}
	return first
}

// connectedReplicas reads connected_slaves from INFO replication; -1 when
// it is not there.
func connectedReplicas(info string) int {
	_, rest, ok := strings.Cut(info, "connected_slaves:")
	if !ok {
		return -1
	}
	line, _, _ := strings.Cut(rest, "\r\n")
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return -1
	}
	return n
}

// doAcked sends cmds, writes that revoke something, and, when the
// deployment has replicas (and ReplicaAckTimeout is not negative), has
// each primary that ran some of them wait until a replica has them:
// WAIT 1 <ReplicaAckTimeout> in the same pipeline, hence on the same
// connection, as the writes (with a Cluster, one pipeline per slot, sent
// to the slot's primary), followed by INFO replication. The error (nil
// when acknowledged, or when the primary has no replica at all by then)
// is errNotReplicated or the failure of WAIT; the results of cmds come
// back either way.
func (s *Store) doAcked(ctx context.Context, cmds ...rueidis.Completed) ([]rueidis.RedisResult, error) {
	if s.ackTimeout <= 0 || len(cmds) == 0 || !s.replicated(ctx) {
		return s.client.DoMulti(ctx, cmds...), nil
	}
	groups := map[uint16][]int{}
	for i, c := range cmds {
		groups[c.Slot()] = append(groups[c.Slot()], i)
	}
	results := make([]rueidis.RedisResult, len(cmds))
	errs := make(chan error, len(groups))
	ms := max(s.ackTimeout.Milliseconds(), 1)
	for _, idx := range groups {
		multi := make(rueidis.Commands, 0, len(idx)+2)
		for _, i := range idx {
			multi = append(multi, cmds[i])
		}
		multi = append(multi, s.client.B().Wait().Numreplicas(1).Timeout(ms).Build(),
			s.client.B().Info().Section("replication").Build())
		go func() {
			res := s.client.DoMulti(ctx, multi...)
			for j, i := range idx {
				results[i] = res[j]
			}
			errs <- ackError(res[len(idx)], res[len(idx)+1])
		}()
	}
	var first error
	for range groups {
		first = firstErr(first, <-errs)
	}
	return results, first
}

// ackError reads the answers to WAIT and the INFO replication after it.
func ackError(wait, info rueidis.RedisResult) error {
	n, err := wait.AsInt64()
	if err != nil {
		return err
	}
	if n >= 1 {
		return nil
	}
	if text, err := info.ToString(); err == nil && connectedReplicas(text) == 0 {
		return nil // no replica left to fail over to, nor to lose the write on
	}
	return errNotReplicated
}
