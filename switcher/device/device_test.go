package device

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A credential never prints, however the value holding it is printed:
// directly, in an exported field, in an unexported field (where fmt
// cannot call its methods), or as JSON.
func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2-very-secret"
	s := NewSecret(pw)
	type session struct {
		token Secret
		Tok   Secret
	}
	v := session{token: s, Tok: s}
	js, err := json.Marshal(struct{ S Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s),
		fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprintf("%+v", &v),
		string(js),
	} {
		if strings.Contains(out, pw) {
			t.Errorf("printed %q: it holds the credential; want !strings.Contains(out, pw)", out)
		}
	}
	if got := s.Reveal(); got != pw {
		t.Errorf("Reveal() = %q, want %q", got, pw)
	}
	if (Secret{}).Reveal() != "" || !(Secret{}).IsZero() || s.IsZero() {
		t.Errorf("zero Secret: Reveal %q IsZero %v; set one IsZero %v; want (Secret{}).Reveal() == \"\", (Secret{}).IsZero(), !s.IsZero()", (Secret{}).Reveal(), (Secret{}).IsZero(), s.IsZero())
	}
}

func TestHostPort(t *testing.T) {
	for _, tc := range []struct {
		addr string
		port int
		def  int
		want string
	}{
		{"10.0.0.5", 0, 80, "10.0.0.5:80"},
		{"10.0.0.5", 8080, 80, "10.0.0.5:8080"},
		{"10.0.0.5:4029", 8080, 80, "10.0.0.5:4029"},
		{"rig-7.hall-b", 0, 4028, "rig-7.hall-b:4028"},
		{"[fd00::1]:81", 0, 80, "[fd00::1]:81"},
		{"fd00::1", 0, 80, "[fd00::1]:80"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			tg := &Target{Address: tc.addr, Options: &Options{Port: tc.port}}
			if got := tg.HostPort(tc.def); got != tc.want {
				t.Errorf("HostPort(%q, port %d, default %d) = %q, want %q", tc.addr, tc.port, tc.def, got, tc.want)
			}
		})
	}
}

func TestOptionsEqual(t *testing.T) {
	a := &Options{User: "root", Password: NewSecret("pw"), Port: 80}
	same := &Options{User: "root", Password: NewSecret("pw"), Port: 80}
	for _, tc := range []struct {
		name string
		a, b *Options
		want bool
	}{
		{"both nil", nil, nil, true},
		{"one nil", a, nil, false},
		{"same values, password read again", a, same, true},
		{"other password", a, &Options{User: "root", Password: NewSecret("pw2"), Port: 80}, false},
		{"other port", a, &Options{User: "root", Password: NewSecret("pw"), Port: 81}, false},
		{"other webhook secret", &Options{Secret: NewSecret("k")}, &Options{Secret: NewSecret("j")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Equal(tc.b); got != tc.want {
				t.Errorf("%s: Equal = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}
