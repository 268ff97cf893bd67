package report

import (
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		expr    string
		metric  string
		op      string
		value   float64
		wantErr string
	}{
		{expr: "error_rate<0.01", metric: "error_rate", op: "<", value: 0.01},
		{expr: "error_rate <= 1%", metric: "error_rate", op: "<=", value: 0.01},
		{expr: " startup_p95<3s ", metric: "startup_p95", op: "<", value: 3},
		{expr: "startup_p99<250ms", metric: "startup_p99", op: "<", value: 0.25},
		{expr: "startup_p50<1.5", metric: "startup_p50", op: "<", value: 1.5},
		{expr: "duration>=1m30s", metric: "duration", op: ">=", value: 90},
		{expr: "segments>=100", metric: "segments", op: ">=", value: 100},
		{expr: "restarts<=5", metric: "restarts", op: "<=", value: 5},
		{expr: "http_5xx==0", metric: "http_5xx", op: "==", value: 0},
		{expr: "stalls!=3", metric: "stalls", op: "!=", value: 3},
		{expr: "bytes>10MB", metric: "bytes", op: ">", value: 10e6},
		{expr: "bytes>2KiB", metric: "bytes", op: ">", value: 2048},
		{expr: "bytes>5", metric: "bytes", op: ">", value: 5},
		{expr: "", wantErr: "want METRIC OP VALUE"},
		{expr: "error_rate", wantErr: "want METRIC OP VALUE"},
		{expr: "error_rate=0.1", wantErr: "want METRIC OP VALUE"},
		{expr: "error_rate<<0.1", wantErr: "not a number"},
		{expr: "latency<3s", wantErr: `unknown metric "latency" (valid: bytes, clients,`},
		{expr: "segments>=100s", wantErr: "a count takes a plain number"},
		{expr: "segments>=ten", wantErr: "a count takes a plain number"},
		{expr: "startup_p95<3 s", wantErr: "want METRIC OP VALUE"},
		{expr: "startup_p95<3parsecs", wantErr: "not a duration"},
		{expr: "error_rate<1ms", wantErr: "a rate is a fraction"},
		{expr: "bytes>1TB", wantErr: "byte units are"},
		{expr: "Error_rate<1", wantErr: "want METRIC OP VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := ParseThreshold(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Metric != tt.metric || got.Op != tt.op || got.Value != tt.value {
				t.Errorf("got %s %s %g, want %s %s %g", got.Metric, got.Op, got.Value, tt.metric, tt.op, tt.value)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	values := map[string]float64{"error_rate": 0.02, "segments": 100, "startup_p95": 2.5}
	tests := []struct {
		expr    string
		pass    bool
		missing bool
	}{
		{"error_rate<0.01", false, false},
		{"error_rate<5%", true, false},
		{"segments>=100", true, false},
		{"segments>100", false, false},
		{"segments==100", true, false},
		{"segments!=100", false, false},
		{"segments<=99", false, false},
		{"startup_p95<3s", true, false},
		{"startup_p99<3s", false, true}, // no sample: fails
	}
	for _, tt := range tests {
		th, err := ParseThreshold(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		r := th.Evaluate(values)
		if r.Pass != tt.pass || r.Missing != tt.missing {
			t.Errorf("%s: pass=%v missing=%v, want pass=%v missing=%v", tt.expr, r.Pass, r.Missing, tt.pass, tt.missing)
		}
	}
}

func TestParseThresholdsStopsAtFirstError(t *testing.T) {
	if _, err := ParseThresholds([]string{"segments>1", "nope<1", "error_rate<x"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("err = %v, want the first bad threshold named", err)
	}
	got, err := ParseThresholds(nil)
	if err != nil || len(got) != 0 {
		t.Errorf("no thresholds: %v %v", got, err)
	}
}
