package up

import (
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func keys(names ...string) []tea.KeyPressMsg {
	var ks []tea.KeyPressMsg
	for _, n := range names {
		switch n {
		case "up":
			ks = append(ks, tea.KeyPressMsg{Code: tea.KeyUp})
		case "down":
			ks = append(ks, tea.KeyPressMsg{Code: tea.KeyDown})
		case "enter":
			ks = append(ks, tea.KeyPressMsg{Code: tea.KeyEnter})
		case "esc":
			ks = append(ks, tea.KeyPressMsg{Code: tea.KeyEscape})
		default:
			r := []rune(n)[0]
			ks = append(ks, tea.KeyPressMsg{Code: r, Text: n})
		}
	}
	return ks
}

func TestMenuKeys(t *testing.T) {
	set := loadProfiles(t)
	names := set.OriginNames()
	good := kvmHost(t)
	noKVM := Host{GOOS: "linux", KVMDevice: filepath.Join(t.TempDir(), "missing")}
	tests := []struct {
		name    string
		host    Host
		keys    []string
		done    bool
		profile string
		typ     Type
		view    string // a substring of the last view, when not done
	}{
		{"enter twice takes the defaults", good, []string{"enter", "enter"}, true, "default", Runner, ""},
		{"down picks the next", good, []string{"down", "enter", "down", "enter"}, true, names[1], Container, ""},
		{"up wraps to the last", good, []string{"up", "enter", "up", "enter"}, true, names[len(names)-1], VM, ""},
		{"j/k move too", good, []string{"j", "j", "k", "enter", "j", "enter"}, true, names[1], Container, ""},
		{"esc goes back a step", good, []string{"enter", "esc", "down", "down", "enter", "enter"}, true, names[2], Runner, ""},
		{"q quits", good, []string{"down", "q"}, false, "", "", ""},
		{"esc on the first step quits", good, []string{"esc"}, false, "", "", ""},
		{"vm is refused without kvm", noKVM, []string{"enter", "up", "enter"}, false, "", "", "vm needs KVM"},
		{"then another type can be picked", noKVM, []string{"enter", "up", "enter", "up", "enter"}, true, "default", Container, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m tea.Model = newMenu(set, tt.host)
			quit := false
			for _, k := range keys(tt.keys...) {
				if quit {
					t.Fatalf("key %v after quit", k)
				}
				var cmd tea.Cmd
				m, cmd = m.Update(k)
				quit = cmd != nil
			}
			got := m.(menu)
			if got.done != tt.done || (tt.done && (got.picked[0] != tt.profile || Type(got.picked[1]) != tt.typ)) {
				t.Fatalf("done=%v picked=%q, want done=%v %s/%s", got.done, got.picked, tt.done, tt.profile, tt.typ)
			}
			wantStop := !tt.done && tt.view == ""
			if got.stopped != wantStop || quit != (tt.done || wantStop) {
				t.Errorf("stopped=%v quit=%v, want stopped=%v quit=%v", got.stopped, quit, wantStop, tt.done || wantStop)
			}
			if tt.view != "" && !strings.Contains(got.text(), tt.view) {
				t.Errorf("view lacks %q:\n%s", tt.view, got.text())
			}
		})
	}
}

func TestMenuViewListsEveryProfile(t *testing.T) {
	set := loadProfiles(t)
	v := newMenu(set, kvmHost(t)).View().Content
	for _, p := range set.Origins {
		if !strings.Contains(v, p.Name) || !strings.Contains(v, p.Description) {
			t.Errorf("menu lacks %s (%s):\n%s", p.Name, p.Description, v)
		}
	}
	if !strings.Contains(v, "> default") {
		t.Errorf("cursor does not start on the default profile:\n%s", v)
	}
}
