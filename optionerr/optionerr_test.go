package optionerr

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain", New("middleware", "SessionMaxAge", "must not be negative"), "middleware: SessionMaxAge: must not be negative"},
		{"formatted", New("middleware", "SessionSecrets[1]", "must be at least %d bytes, got %d", 32, 5), "middleware: SessionSecrets[1]: must be at least 32 bytes, got 5"},
		{"percent", New("rezi", "CacheMargin", "must be under %v", "1h0m0s"), "rezi: CacheMargin: must be under 1h0m0s"},
		{"sub-field", New("middleware", "Handoff.LoginURL", "required"), "middleware: Handoff.LoginURL: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q; want %q", got, tc.want)
			}
		})
	}
}

// multi is an error that wraps several without errors.Join.
type multi []error

func (m multi) Error() string   { return "multi" }
func (m multi) Unwrap() []error { return m }

func TestFields(t *testing.T) {
	a := New("oidc", "IssuerURL", "required")
	b := New("oidc", "ClientID", "required")
	c := New("rezi", "Timeout", "must not be negative")
	tests := []struct {
		name string
		err  error
		want []error
	}{
		{"nil", nil, nil},
		{"no field error", errors.New("boom"), nil},
		{"one", a, []error{a}},
		{"joined", errors.Join(a, b), []error{a, b}},
		{"joined with nil", errors.Join(nil, a, nil), []error{a}},
		{"wrapped", fmt.Errorf("build: %w", a), []error{a}},
		{"wrapped join", fmt.Errorf("build: %w", errors.Join(a, b)), []error{a, b}},
		{"join of joins", errors.Join(errors.Join(a, b), errors.New("other"), c), []error{a, b, c}},
		{"several %w", fmt.Errorf("%w and %w", a, c), []error{a, c}},
		{"custom Unwrap []error", multi{a, fmt.Errorf("x: %w", b)}, []error{a, b}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []error
			for _, fe := range Fields(tc.err) {
				got = append(got, fe)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Fields(%v) = %v; want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestFieldsKeepsParts(t *testing.T) {
	fs := Fields(errors.Join(New("proxy", "Upstream", "required")))
	if len(fs) != 1 || fs[0].Pkg != "proxy" || fs[0].Field != "Upstream" || fs[0].Msg != "required" {
		t.Errorf("Fields = %+v; want one proxy Upstream error", fs)
	}
	var fe *Error
	if !errors.As(fmt.Errorf("x: %w", fs[0]), &fe) || fe.Field != "Upstream" {
		t.Errorf("errors.As did not find the *Error")
	}
}
