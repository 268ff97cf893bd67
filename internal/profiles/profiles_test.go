package profiles

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedProfilesAreValid(t *testing.T) {
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	wantOrigins := []string{"default", "low-latency", "4k-abr", "stress-test", "logged", "debug", "tap", "tap-logged"}
	if got := strings.Join(set.OriginNames(), ","); got != strings.Join(wantOrigins, ",") {
		t.Errorf("origin profiles = %s, want %s", got, strings.Join(wantOrigins, ","))
	}
	wantSwarms := []string{"default", "stress", "gentle", "burst", "extreme"}
	if got := strings.Join(set.SwarmNames(), ","); got != strings.Join(wantSwarms, ",") {
		t.Errorf("swarm profiles = %s, want %s", got, strings.Join(wantSwarms, ","))
	}
	abr, err := set.Origin("4k-abr")
	if err != nil {
		t.Fatal(err)
	}
	if len(abr.Video) != 5 {
		t.Errorf("4k-abr has %d renditions, want 5", len(abr.Video))
	}
}

func TestUnknownProfileListsValidNames(t *testing.T) {
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	_, err = set.Origin("nope")
	if err == nil || !strings.Contains(err.Error(), "low-latency") || !strings.Contains(err.Error(), "tap-logged") {
		t.Errorf("origin error = %v, want the valid names", err)
	}
	_, err = set.Swarm("nope")
	if err == nil || !strings.Contains(err.Error(), "default, stress, gentle, burst, extreme") {
		t.Errorf("swarm error = %v, want the valid names", err)
	}
}

const okSwarm = `{"profiles":[{"name":"default","description":"d","clients":1,"rampRate":1,"rampJitter":"0s","variant":"all","reconnect":true,"reconnectDelayMax":"1s","segmentRetries":1,"timeout":"1s","logLevel":"info"}]}`

func originJSON(mutate string) string {
	base := `{"name":"default","description":"d","segmentSeconds":2,"listSize":10,"fps":30,"preset":"veryfast",` +
		`"video":[{"name":"720p","width":1280,"height":720,"bitrateK":2000,"maxrateK":2200,"bufsizeK":4000}],` +
		`"audio":{"bitrateK":128,"sampleRate":48000,"frequencyHz":1000},"ffmpegLogLevel":"warning",` +
		`"nginx":{"accessLog":"off","errorLogLevel":"warn","workerConnections":1024},"network":"user"}`
	if mutate != "" {
		base = strings.Replace(base, `"name":"default","description":"d","segmentSeconds":2,"listSize":10`, mutate, 1)
	}
	return `{"profiles":[` + base + `]}`
}

func TestValidationRejectsBadProfiles(t *testing.T) {
	tests := []struct {
		name, origin, swarm, want string
	}{
		{"ok", originJSON(""), okSwarm, ""},
		{"segment below 1s", originJSON(`"name":"default","description":"d","segmentSeconds":0,"listSize":10`), okSwarm, "segmentSeconds"},
		{"list below 3", originJSON(`"name":"default","description":"d","segmentSeconds":2,"listSize":2`), okSwarm, "listSize"},
		{"missing description", originJSON(`"name":"default","description":"","segmentSeconds":2,"listSize":10`), okSwarm, "description"},
		{"missing name", originJSON(`"name":"","description":"d","segmentSeconds":2,"listSize":10`), okSwarm, "no name"},
		{"bitrate above maxrate", strings.Replace(originJSON(""), `"maxrateK":2200`, `"maxrateK":1800`, 1), okSwarm, "maxrate"},
		{"minrate above bitrate", strings.Replace(originJSON(""), `"maxrateK":2200`, `"maxrateK":2200,"minrateK":5000`, 1), okSwarm, "minrate"},
		{"duplicate names", strings.Replace(originJSON(""), `]}`, ","+strings.TrimSuffix(strings.TrimPrefix(originJSON(""), `{"profiles":[`), `]}`)+`]}`, 1), okSwarm, "two origin profiles"},
		{"unknown field", strings.Replace(originJSON(""), `"fps":30`, `"fps":30,"fsp":1`, 1), okSwarm, "unknown field"},
		{"missing preset", strings.Replace(originJSON(""), `"preset":"veryfast"`, `"preset":""`, 1), okSwarm, "preset"},
		{"no video", strings.Replace(originJSON(""), `"video":[{"name":"720p","width":1280,"height":720,"bitrateK":2000,"maxrateK":2200,"bufsizeK":4000}]`, `"video":[]`, 1), okSwarm, "no video"},
		{"odd size", strings.Replace(originJSON(""), `"width":1280`, `"width":1279`, 1), okSwarm, "even"},
		{"missing audio", strings.Replace(originJSON(""), `"bitrateK":128`, `"bitrateK":0`, 1), okSwarm, "audio"},
		{"fps zero", strings.Replace(originJSON(""), `"fps":30`, `"fps":0`, 1), okSwarm, "fps"},
		{"ladder out of order", strings.Replace(originJSON(""), `"bufsizeK":4000}]`, `"bufsizeK":4000},{"name":"1080p","width":1920,"height":1080,"bitrateK":5000,"maxrateK":5500,"bufsizeK":10000}]`, 1), okSwarm, "highest to lowest"},
		{"bad access log", strings.Replace(originJSON(""), `"accessLog":"off"`, `"accessLog":"loud"`, 1), okSwarm, "nginx.accessLog"},
		{"bad network", strings.Replace(originJSON(""), `"network":"user"`, `"network":"wifi"`, 1), okSwarm, "network"},
		{"duplicate swarm names", originJSON(""), strings.Replace(okSwarm, `]}`, ","+strings.TrimSuffix(strings.TrimPrefix(okSwarm, `{"profiles":[`), `]}`)+`]}`, 1), "two swarm-client profiles"},
		{"missing swarm description", originJSON(""), strings.Replace(okSwarm, `"description":"d"`, `"description":""`, 1), "description"},
		{"bad variant", originJSON(""), strings.Replace(okSwarm, `"variant":"all"`, `"variant":"best"`, 1), "variant"},
		{"zero clients", originJSON(""), strings.Replace(okSwarm, `"clients":1`, `"clients":0`, 1), "clients"},
		{"bad duration", originJSON(""), strings.Replace(okSwarm, `"timeout":"1s"`, `"timeout":"soon"`, 1), "invalid duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFS(fstest.MapFS{
				"origin.json": {Data: []byte(tc.origin)},
				"swarm.json":  {Data: []byte(tc.swarm)},
			})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
