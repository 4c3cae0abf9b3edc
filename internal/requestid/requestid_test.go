package requestid

import (
	"context"
	"testing"
)

func TestNewAndContext(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := New()
		if len(id) != 16 || seen[id] {
			t.Fatalf("New() = %q; want 16 characters, unique (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
	if got := FromContext(context.Background()); got != "" {
		t.Errorf("FromContext(empty) = %q; want \"\"", got)
	}
	if got := FromContext(NewContext(context.Background(), "abc")); got != "abc" {
		t.Errorf("FromContext(NewContext(abc)) = %q; want abc", got)
	}
}
