package acme

import (
	"slices"
	"testing"

	"github.com/rezigate/rezigate/optionerr"
)

func fields(err error) []string {
	var out []string
	for _, fe := range optionerr.Fields(err) {
		out = append(out, fe.Field)
	}
	return out
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{Domains: []string{"rms.example.com"}, CacheDir: "/var/lib/rezigate/acme"}
	with := func(f func(*Options)) Options { o := ok; f(&o); return o }
	for _, tc := range []struct {
		name string
		o    Options
		want []string
	}{
		{"ok", ok, nil},
		{"zero", Options{}, []string{"Domains", "CacheDir"}},
		{"storage instead of cache_dir", with(func(o *Options) { o.CacheDir, o.Storage = "", &RedisStorage{} }), nil},
		{"localhost", with(func(o *Options) { o.Domains = []string{"localhost"} }), nil},
		{"wildcard", with(func(o *Options) { o.Domains = []string{"*.example.com"} }), []string{"Domains[0]"}},
		{"bad and twice", with(func(o *Options) { o.Domains = []string{"a.example", "bad_name", "A.example", ""} }), []string{"Domains[1]", "Domains[2]", "Domains[3]"}},
		{"http directory", with(func(o *Options) { o.DirectoryURL = "http://ca.example.com/dir" }), []string{"DirectoryURL"}},
		{"http loopback directory", with(func(o *Options) { o.DirectoryURL = "http://127.0.0.1:14000/dir" }), nil},
		{"relative directory", with(func(o *Options) { o.DirectoryURL = "/dir" }), []string{"DirectoryURL"}},
		{"email", with(func(o *Options) { o.Email = "ops" }), []string{"Email"}},
		{"addresses", with(func(o *Options) { o.TLSAddr, o.HTTPAddr = "443", ":80" }), []string{"TLSAddr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if got := fields(err); !slices.Equal(got, tc.want) {
				t.Errorf("Validate() = %v; want fields %q", err, tc.want)
			}
		})
	}
}
