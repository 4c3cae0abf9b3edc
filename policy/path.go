package policy

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrBadPath means a request path was refused because an upstream could
// read it as a different path than the one the rules were matched
// against. The caller answers 400 Bad Request. Errors returned by
// Normalize wrap it with the reason (never the path itself); test with
// errors.Is.
var ErrBadPath = errors.New("policy: bad request path")

// The reasons Normalize refuses a path, built once so that refusing
// costs no allocation.
var (
	errEncodedSlash = fmt.Errorf("%w: encoded / or \\", ErrBadPath)
	errBackslash    = fmt.Errorf("%w: raw \\", ErrBadPath)
	errNUL          = fmt.Errorf("%w: NUL byte", ErrBadPath)
	errBadEscape    = fmt.Errorf("%w: malformed percent escape", ErrBadPath)
	errBadUTF8      = fmt.Errorf("%w: invalid UTF-8", ErrBadPath)
	errAboveRoot    = fmt.Errorf("%w: dot segments above the root", ErrBadPath)
	errParamDots    = fmt.Errorf("%w: path parameters on a dot segment", ErrBadPath)
	errParamEmpty   = fmt.Errorf("%w: path parameters on an empty segment", ErrBadPath)
	errParamRoute   = fmt.Errorf("%w: path parameters change the route", ErrBadPath)
	errWindowsName  = fmt.Errorf("%w: segment ending in a dot or space", ErrBadPath)
)

// Normalize returns rawPath in the form the rules judge it, which is also
// the form to forward upstream, so that the upstream serves exactly the
// path that was judged. rawPath is the request's escaped path as sent
// (url.URL.EscapedPath or the path part of the request target). The
// query string and fragment never take part in matching: Normalize cuts
// rawPath at the first "?" or "#" itself, so a caller who passes a whole
// request target cannot have "/admin?x=/public" judged as "/public" or
// "/public#/admin" widened to "/admin"; the caller forwards the query
// separately and never forwards a fragment.
//
// The steps, in order:
//
//   - An empty path becomes "/"; a path not starting with "/" gets one.
//   - Percent escapes of unreserved characters (ALPHA DIGIT - . _ ~) are
//     decoded, once: "/%61dmin" is "/admin". Every other escape stays
//     encoded, with upper-case hex digits ("%c3%a9" is "%C3%A9"), so the
//     upstream decodes it exactly once, as it would have.
//   - Repeated slashes are merged: "//admin" is "/admin".
//   - Dot segments are resolved (RFC 3986, section 5.2.4), also when they
//     were written "%2e": "/public/%2e%2e/admin" is "/admin". A trailing
//     slash is kept, and "/a/." and "/a/b/.." end in "/".
//
// When the policy has at least one route, Normalize refuses with an
// error wrapping ErrBadPath a path with an encoded slash or backslash
// (%2F, %5C, any case), a raw backslash, a NUL byte (raw or %00), a
// malformed escape ("%zz", a trailing "%"), bytes that are not valid
// UTF-8 once every escape is decoded (which refuses overlong encodings
// such as "%C0%AF"), or dot segments that climb above the root
// ("/../admin"). Those are the paths that upstreams disagree about. With
// no routes nothing is judged, so nothing is refused: the path is still
// normalised, dot segments stop at the root and a malformed "%" becomes
// "%25".
//
// # Path parameters
//
// Servlet containers (Tomcat, Jetty) cut each segment at its first ";"
// and ignore the rest, a path parameter: they serve "/admin;x/" as
// "/admin/" and read "/x/..;/admin/" as "/admin/", while nginx, Apache
// httpd, Go's net/http and Node read ";" as part of the segment's name.
// With routes, Normalize therefore also reads the path as a servlet
// container does, with each segment cut at ";" or its escape "%3B"
// (which some applications decode before cutting), and refuses it when
// the two readings could differ in what they reach:
//
//   - a segment that the cut leaves as "." or ".." ("..;", ".;x",
//     "%2e%2e;"), anywhere in the path, even where a later ".." would
//     remove it, since an edge proxy forwards the path as sent;
//   - a segment that the cut leaves empty (";x") unless it is the last
//     one: "/app/;jsessionid=1" is accepted, "/;x/admin" is not;
//   - any path whose two readings are not covered by the same routes:
//     "/admin;x/", "/admin;/x" and "/admin%3B/" when a route names
//     "/admin/", or "/public;v=1/x" when a route names "/public/".
//
// So every accepted path is decided, for every method and user, as a
// servlet container reads it; "/public/file;v=1" under a route "/public/"
// keeps working. Route paths never contain ";" (Validate refuses it).
//
// # Case-insensitive paths
//
// When the policy folds case (Options.CaseInsensitivePaths, for IIS and
// other Windows servers), a segment ending in "." or a space (raw or
// "%20"), as written or once its path parameters are cut, is refused:
// Windows file systems ignore those, so "/ADMIN./" or "/admin%20/" would
// be served as "/admin/". So is a segment with ":" (raw or "%3A"), which
// names an NTFS stream ("/admin::$INDEX_ALLOCATION/" is "/admin/"; ASP.NET
// refuses ":" in a path by default too), and one with "~" and a digit, an
// 8.3 short name ("/ADMINI~1/" can be "/administration/").
//
// Escapes other than those of unreserved characters are not decoded, so
// an upstream that decodes twice ("%252e" read as ".") sees a path that
// was not judged; such upstreams are not supported.
//
// Normalize is idempotent: normalising its result returns the result
// unchanged. A path already in normal form is returned as is, without
// allocating.
func (p *Policy) Normalize(rawPath string) (string, error) {
	strict := len(p.routes) > 0
	n, params, err := normalize(rawPath, strict, p.fold)
	if err != nil || !strict || !params {
		return n, err
	}
	if !p.sameRoutes(n) {
		return "", errParamRoute
	}
	return n, nil
}

// hasParams reports whether path, in normal form, has a segment with a
// path parameter.
func hasParams(path string) bool {
	return strings.IndexByte(path, ';') >= 0 || strings.Contains(path, "%3B")
}

// sameRoutes reports whether path, in normal form and accepted by
// checkSegments, is covered by exactly the routes that cover its servlet
// reading (each segment cut at its path parameters), so that both
// readings are decided alike for every method and user.
func (p *Policy) sameRoutes(path string) bool {
	var stack [stackPath]byte
	servlet := stack[:0]
	for i := 0; i < len(path); {
		j := i + 1
		for j < len(path) && path[j] != '/' {
			j++
		}
		seg := path[i+1 : j]
		servlet = append(servlet, '/')
		servlet = append(servlet, seg[:paramStart(seg)]...)
		i = j
	}
	for i := range p.routes {
		r := &p.routes[i]
		if r.covers(path, p.fold) != coversPath(r.base, servlet, p.fold) {
			return false
		}
	}
	return true
}

// stackPath is the path length normalize handles without allocating
// scratch space.
const stackPath = 256

// normalize implements Policy.Normalize but for the comparison of routes;
// strict is true when routes exist and ambiguous paths are refused, fold
// when the policy folds case. params reports whether the result has a
// path parameter (";" or "%3B").
func normalize(raw string, strict, fold bool) (_ string, params bool, _ error) {
	// isNormal refuses "?" and "#", so a path it accepts as it came
	// needs no cut: one pass over the common, normal path.
	if normal, params := isNormal(raw, strict, fold); normal {
		return raw, params, nil
	}
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
		if normal, params := isNormal(raw, strict, fold); normal {
			return raw, params, nil
		}
	}
	n, err := rebuild(raw, strict, fold)
	return n, err == nil && hasParams(n), err
}

// rebuild is normalize for a path not already in normal form, raw cut at
// "?" and "#" already.
func rebuild(raw string, strict, fold bool) (string, error) {
	var stack [stackPath]byte
	b := stack[:0]
	if len(raw) == 0 || raw[0] != '/' {
		b = append(b, '/')
	}
	b, err := decodeUnreserved(b, raw, strict)
	if err != nil {
		return "", err
	}
	if strict && !validUTF8Escaped(b) {
		return "", errBadUTF8
	}
	if strict {
		// Before dot segments are resolved: "/a/.;/../admin" is
		// "/a/admin" here but "/admin" to a servlet container given the
		// path as sent.
		if err := checkSegments(b, fold); err != nil {
			return "", err
		}
	}
	b, err = removeDotSegments(b, strict)
	if err != nil {
		return "", err
	}
	if string(b) == raw {
		return raw, nil
	}
	return string(b), nil
}

// checkSegments refuses a segment of b, which starts with "/" and has
// escapes of unreserved characters decoded, that a servlet container
// reads as a dot segment or, when not the last, as an empty one once its
// path parameters are cut; and when fold, one that a Windows server
// reads as another name (windowsTrimmed).
func checkSegments[T string | []byte](b T, fold bool) error {
	for i := 0; i < len(b); {
		j := i + 1
		for j < len(b) && b[j] != '/' {
			j++
		}
		seg := b[i+1 : j]
		name := seg[:paramStart(seg)]
		if len(name) < len(seg) {
			switch string(name) {
			case ".", "..":
				return errParamDots
			case "":
				if j < len(b) {
					return errParamEmpty
				}
			}
		}
		if fold && (windowsTrimmed(seg) || windowsTrimmed(name)) {
			return errWindowsName
		}
		i = j
	}
	return nil
}

// paramStart returns the index in seg of its first ";" or "%3B" (either
// case), where a servlet container's reading of the segment ends, or
// len(seg).
func paramStart[T string | []byte](seg T) int {
	for i := 0; i < len(seg); i++ {
		switch {
		case seg[i] == ';':
			return i
		case seg[i] == '%' && i+2 < len(seg) && seg[i+1] == '3' && (seg[i+2] == 'B' || seg[i+2] == 'b'):
			return i
		}
	}
	return len(seg)
}

// windowsTrimmed reports whether Windows reads segment seg as another
// name: one ending in "." or a space, raw or "%20", other than a dot
// segment; one naming an NTFS stream with ":" (raw or "%3A":
// "admin::$INDEX_ALLOCATION" is the directory "admin"); or an 8.3 short
// name, "~" and a digit ("ADMINI~1" can be "administration").
func windowsTrimmed[T string | []byte](seg T) bool {
	n := len(seg)
	switch {
	case n == 0 || string(seg) == "." || string(seg) == "..":
		return false
	case seg[n-1] == '.' || seg[n-1] == ' ':
		return true
	}
	for i := 0; i < n; i++ {
		switch {
		case seg[i] == ':':
			return true
		case seg[i] == '~' && i+1 < n && '0' <= seg[i+1] && seg[i+1] <= '9':
			return true
		case seg[i] == '%' && i+2 < n && seg[i+1] == '3' && (seg[i+2] == 'A' || seg[i+2] == 'a'):
			return true
		}
	}
	return n >= 3 && seg[n-3] == '%' && seg[n-2] == '2' && seg[n-1] == '0'
}

// decodeUnreserved appends raw to b with escapes of unreserved characters
// decoded and every other escape in upper case. When strict, it refuses
// encoded slashes and backslashes, NUL, raw backslashes and malformed
// escapes; otherwise a malformed "%" is written "%25".
func decodeUnreserved(b []byte, raw string, strict bool) ([]byte, error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				if strict {
					return nil, errBadEscape
				}
				b = append(b, "%25"...)
				continue
			}
			v := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
			switch {
			case isUnreserved(v):
				b = append(b, v)
				continue
			case strict && (v == '/' || v == '\\'):
				return nil, errEncodedSlash
			case strict && v == 0:
				return nil, errNUL
			}
			b = append(b, '%', upperHex[v>>4], upperHex[v&0xf])
		case strict && c == '\\':
			return nil, errBackslash
		case strict && c == 0:
			return nil, errNUL
		default:
			b = append(b, c)
		}
	}
	return b, nil
}

// removeDotSegments merges repeated slashes and resolves "." and ".."
// segments of b, which starts with "/", in place. When strict, a ".."
// with nothing left to remove is an error; otherwise it stops at the
// root.
func removeDotSegments(b []byte, strict bool) ([]byte, error) {
	out := b[:0]
	for i := 0; i < len(b); {
		// b[i] is '/': skip any run of slashes, then take one segment.
		j := i
		for j < len(b) && b[j] == '/' {
			j++
		}
		k := j
		for k < len(b) && b[k] != '/' {
			k++
		}
		seg, last := b[j:k], k == len(b)
		switch string(seg) {
		case "":
			// Only at the end: the path ends in one or more slashes.
			out = append(out, '/')
		case ".":
			if last {
				out = append(out, '/')
			}
		case "..":
			if len(out) == 0 {
				if strict {
					return nil, errAboveRoot
				}
			} else {
				n := len(out) - 1
				for n > 0 && out[n] != '/' {
					n--
				}
				out = out[:n]
			}
			if last {
				out = append(out, '/')
			}
		default:
			// The write position never passes j, so this copies within b
			// from right to left, which append (memmove) allows.
			out = append(out, '/')
			out = append(out, seg...)
		}
		i = k
	}
	if len(out) == 0 {
		out = append(out, '/')
	}
	return out, nil
}

// isNormal reports whether s is in the form normalize gives, and would be
// accepted by it, without copying s: one leading "/", no "?" or "#", no
// empty, "." or ".." segment except a final empty one, escapes well
// formed with upper-case hex and not of unreserved characters, and when
// strict no escape, raw byte or segment that rebuild refuses. params
// reports whether s has a path parameter (";" or "%3B").
func isNormal(s string, strict, fold bool) (normal, params bool) {
	if len(s) == 0 || s[0] != '/' {
		return false, false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '?' || c == '#':
			return false, false
		case c == ';':
			params = true
		case c == '/':
			rest := s[i+1:]
			switch {
			case strings.HasPrefix(rest, "/"),
				rest == ".", strings.HasPrefix(rest, "./"),
				rest == "..", strings.HasPrefix(rest, "../"):
				return false, false
			}
		case c == '%':
			if i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
				return false, false
			}
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(v) || strict && (v == '/' || v == '\\' || v == 0) {
				return false, false
			}
			if v >= utf8.RuneSelf {
				ascii = false
			}
			params = params || v == ';'
			i += 2
		case strict && (c == '\\' || c == 0):
			return false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !strict {
		return true, params
	}
	return (ascii || validUTF8Escaped(s)) && (!params && !fold || checkSegments(s, fold) == nil), params
}

// validUTF8Escaped reports whether b, its escapes decoded, is valid
// UTF-8. Escapes in b are well formed (decodeUnreserved checked them).
func validUTF8Escaped[T string | []byte](b T) bool {
	var pend [utf8.UTFMax]byte
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '%' && i+2 < len(b) {
			c = unhex(b[i+1])<<4 | unhex(b[i+2])
			i += 2
		}
		if n == 0 && c < utf8.RuneSelf {
			continue
		}
		pend[n] = c
		n++
		if utf8.FullRune(pend[:n]) {
			if r, size := utf8.DecodeRune(pend[:n]); r == utf8.RuneError && size == 1 {
				return false
			}
			n = 0
		}
	}
	return n == 0
}

const upperHex = "0123456789ABCDEF"

func isUpperHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// isUnreserved reports whether c is an unreserved character of RFC 3986
// (ALPHA DIGIT - . _ ~), the only ones whose escapes are decoded.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
