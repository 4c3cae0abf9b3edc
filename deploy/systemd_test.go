package deploy

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rezigate/rezigate/internal/config"
)

// parseUnit reads a systemd unit into section -> key -> values in order;
// for the keys checked here, the last value is the one systemd uses.
func parseUnit(t *testing.T) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			unit[section] = map[string][]string{}
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s:%d: continuation lines are not supported here", unitPath, i+1)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d = %q; want Key=Value inside a section", unitPath, i+1, line)
			}
			k = strings.TrimSpace(k)
			unit[section][k] = append(unit[section][k], strings.TrimSpace(v))
		}
	}
	return unit
}

func TestSystemdUnit(t *testing.T) {
	unit := parseUnit(t)
	last := func(section, key string) (string, bool) {
		v := unit[section][key]
		if len(v) == 0 {
			return "", false
		}
		return v[len(v)-1], true
	}
	tests := []struct {
		section, key, want string
	}{
		{"Service", "EnvironmentFile", "/etc/rezigate/rezigate.env"},
		{"Service", "ExecStart", "/usr/local/bin/rezigate -config /etc/rezigate/config.yaml"},
		{"Service", "Restart", "on-failure"},
		{"Service", "KillSignal", "SIGTERM"},
		{"Service", "DynamicUser", "yes"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "CapabilityBoundingSet", ""},
		{"Service", "AmbientCapabilities", ""},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "ProtectHome", "yes"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "PrivateDevices", "yes"},
		{"Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"Service", "RestrictSUIDSGID", "yes"},
		{"Service", "MemoryDenyWriteExecute", "yes"},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, tc := range tests {
		got, ok := last(tc.section, tc.key)
		if !ok {
			got = "missing"
		}
		if got != tc.want {
			t.Errorf("unit [%s] %s = %q; want %q", tc.section, tc.key, got, tc.want)
		}
	}
	if user, _ := last("Service", "User"); user == "" || user == "root" || user == "0" {
		t.Errorf("unit [Service] User = %q; want an unprivileged user", user)
	}

	// systemd sends SIGKILL after TimeoutStopSec; rezigate must finish its
	// graceful shutdown first.
	stop, _ := last("Service", "TimeoutStopSec")
	if _, err := strconv.Atoi(stop); err == nil {
		stop += "s"
	}
	got, err := time.ParseDuration(stop)
	shutdown := time.Duration(config.Defaults().ShutdownTimeout)
	if err != nil || got <= shutdown {
		t.Errorf("unit [Service] TimeoutStopSec = %q; want more than the default shutdown_timeout %v", stop, shutdown)
	}
}
