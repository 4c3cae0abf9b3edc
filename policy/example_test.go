package policy_test

import (
	"errors"
	"fmt"

	"github.com/rezigate/rezigate/policy"
)

func ExamplePolicy_Decide() {
	p, err := policy.New(policy.Options{
		AllowGroups: []string{"rms-admins", "rms-users"},
		Default:     policy.Deny,
		Routes: []policy.Route{
			{Path: "/admin/", Groups: []string{"rms-admins"}},
			{Path: "/rezi", Groups: []string{"rms-users"}, Emails: []string{"boss@example.com"}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ada := policy.User{Email: "ada@example.com", Groups: []string{"rms-users"}}
	fmt.Println("sign-in:", p.SignInAllowed(ada.Groups))

	for _, raw := range []string{"/rezi?openOnboarding=true", "/public/%2e%2e/admin/users", "/admin%2Fusers", "/public"} {
		path, err := p.Normalize(raw)
		if errors.Is(err, policy.ErrBadPath) {
			fmt.Printf("%s: 400\n", raw)
			continue
		}
		res := p.Decide("GET", path, ada)
		fmt.Printf("%s: judged as %s, allowed %v, rule %d: %s\n", raw, path, res.Allowed, res.Rule, res.Reason)
	}
	// Output:
	// sign-in: true
	// /rezi?openOnboarding=true: judged as /rezi, allowed true, rule 1: in group rms-users
	// /public/%2e%2e/admin/users: judged as /admin/users, allowed false, rule 0: not in any of rms-admins
	// /admin%2Fusers: 400
	// /public: judged as /public, allowed false, rule -1: no route matched; default deny
}
