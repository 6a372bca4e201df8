package vnish

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Wrong password: 401 and counted. The token is accepted bare (pyasic)
// and as a Bearer token (asic-rs); anything else is a 401.
func TestUnlockAndTokenForms(t *testing.T) {
	dev := emu.NewDevice(emu.Config{MiningW: 3000, HashrateTHs: 100})
	r, err := Start(dev, Config{Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer http.DefaultClient.CloseIdleConnections()
	base := "http://" + r.Addr() + "/api/v1/"
	post := func(path, body, auth string) (int, string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := post("unlock", `{"pw":"nope"}`, ""); code != 401 {
		t.Errorf("wrong password: got %d, want 401", code)
	}
	code, body := post("unlock", `{"pw":"pw"}`, "")
	if code != 200 || !strings.Contains(body, `"token"`) {
		t.Fatalf("unlock: got %d %s, want 200 with a token", code, body)
	}
	tok := body[strings.Index(body, `"token":"`)+9:]
	tok = tok[:strings.IndexByte(tok, '"')]
	for _, auth := range []string{"Bearer " + tok, tok} {
		if code, _ := post("mining/stop", "", auth); code != 200 {
			t.Errorf("stop with %q form: got %d, want 200", strings.Fields(auth)[0], code)
		}
	}
	if code, _ := post("mining/start", "", "Bearer nope"); code != 401 {
		t.Errorf("bad token: got %d, want 401", code)
	}
	if c := dev.Calls(); c.AuthFailures != 1 || c.Curtails != 2 || c.Resumes != 0 {
		t.Errorf("device calls: got %+v, want 1 auth failure, 2 curtails, 0 resumes", c)
	}
}
