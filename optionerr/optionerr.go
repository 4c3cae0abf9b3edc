// Package optionerr is the error type of every Options.Validate method in
// rezigate (middleware, handoff, logout, refresh, oidc, policy, proxy,
// rezi, sessions, redisstore): one invalid field, named by package and
// field, so that a caller which maps its own configuration onto Options
// can name the key its user wrote.
//
// A Validate method reports every problem at once with errors.Join of
// *Error values; Fields takes them apart again:
//
//	for _, fe := range optionerr.Fields(opts.Validate()) {
//		fmt.Println(fe.Pkg, fe.Field, fe.Msg)
//	}
//
// A caller that only logs or prints the error needs no more than
// err.Error(). The constructors (middleware.New and the others) run the
// same checks and return the same errors, wrapped.
//
// Messages describe what is wrong and what would be right. They never
// contain the field's value, which may be a secret or a URL with a
// password in it, so an Error is safe to log.
package optionerr

import "fmt"

// Error is one invalid Options field.
type Error struct {
	// Pkg is the package whose Options hold the field, e.g. "middleware".
	Pkg string
	// Field is the field's name as written in Go, with an index or a
	// sub-field where one applies: "RefreshInterval", "Session.Secrets[1]",
	// "Handoff.LoginURL".
	Field string
	// Msg says what is wrong, without the field's value.
	Msg string
}

// Error returns Pkg + ": " + Field + ": " + Msg, e.g.
// "middleware: Session.MaxAge: must not be negative".
func (e *Error) Error() string {
	return e.Pkg + ": " + e.Field + ": " + e.Msg
}

// New returns an *Error for field of pkg's Options, with the message
// formatted by fmt.Sprintf(format, args...). It is for packages that
// write a Validate method; callers pass no secret or field value in args.
func New(pkg, field, format string, args ...any) error {
	return &Error{Pkg: pkg, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Fields returns every *Error inside err, in order, walking errors.Join,
// any Unwrap() []error and %w chains. It returns nil when err is nil or
// holds no *Error.
func Fields(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		switch u := err.(type) {
		case *Error:
			out = append(out, u)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
