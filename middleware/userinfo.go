package middleware

import (
	"encoding/json"
	"net/http"
)

func (a *Auth) serveUserInfo(w http.ResponseWriter, r *http.Request) *User {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	u, ok, err := a.sessionUser(r)
	if err != nil {
		a.storeUnavailable(w, r, err)
		return nil
	}
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"unauthorized","message":"sign in required"}` + "\n"))
		return nil
	}
	_ = json.NewEncoder(w).Encode(struct {
		Email string `json:"email"`
		UID   string `json:"uid"`
	}{u.Email, u.UID})
	return u
}
