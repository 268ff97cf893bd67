// Package grafanadash reads the project's Grafana dashboards (deploy/grafana/dashboards/*.json)
// strictly against Grafana's own dashboard model (grafana-foundation-sdk, schema v1: unknown
// fields, wrong types and missing required fields are errors; panel options and Prometheus
// queries are decoded by their plugins' typed models), and expands a query's template variables
// the way Grafana's Prometheus data source does, so the queries can be run against a real
// Prometheus without Grafana.
package grafanadash

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// PanelTypes are the panel plugins a dashboard of this project may use: each is decoded with its
// plugin's typed options and field config. A panel of any other type is refused.
var PanelTypes = []string{"timeseries", "stat"}

// The SDK's strict decoders return a nil cog.BuildErrors as a non-nil error on success, and the
// generated callers then drop the decoded value (v0.0.22): real errors still surface, but a
// panel's targets and options would be lost. The plugins are registered with strict
// unmarshalers that return nil on success, and Decode decodes the panels one by one.
func init() {
	rt := cog.NewRuntime()
	ts := timeseries.VariantConfig()
	ts.StrictOptionsUnmarshaler = strictly[timeseries.Options]
	ts.StrictFieldConfigUnmarshaler = strictly[timeseries.FieldConfig]
	rt.RegisterPanelcfgVariant(ts)
	st := stat.VariantConfig()
	st.StrictOptionsUnmarshaler = strictly[stat.Options]
	rt.RegisterPanelcfgVariant(st)
	prom := prometheus.VariantConfig()
	prom.StrictDataqueryUnmarshaler = func(raw []byte) (variants.Dataquery, error) {
		q := &prometheus.Dataquery{}
		if err := strictErr(q.UnmarshalJSONStrict(raw)); err != nil {
			return nil, err
		}
		return q, nil
	}
	rt.RegisterDataqueryVariant(prom)
}

// strictDecoder is a typed model of the SDK with a strict decoder.
type strictDecoder[T any] interface {
	*T
	UnmarshalJSONStrict([]byte) error
}

// strictly decodes raw into a new T with T's strict decoder.
func strictly[T any, P strictDecoder[T]](raw []byte) (any, error) {
	v := P(new(T))
	if err := strictErr(v.UnmarshalJSONStrict(raw)); err != nil {
		return nil, err
	}
	return v, nil
}

// Query is one panel target.
type Query struct {
	Panel  string // the panel's title
	RefID  string
	Expr   string
	Legend string
}

// Variable is one template variable.
type Variable struct {
	Name, Type string
	// Query is a query variable's Prometheus query (label_values(…), query_result(…)) or a
	// data source variable's plugin type.
	Query string
	// Multi and IncludeAll decide how a value is formatted into a query; AllValue replaces "All".
	Multi, IncludeAll bool
	AllValue          *string
}

// Dashboard is a decoded dashboard with its queries and variables.
type Dashboard struct {
	Model     dashboard.Dashboard
	Queries   []Query
	Variables []Variable
}

// Load reads and strictly decodes a dashboard file (see Decode).
func Load(path string) (*Dashboard, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Decode strictly decodes a dashboard's JSON and checks what the schema cannot: every panel is
// of a known type (PanelTypes, or a row), every panel and target uses a Prometheus data source
// and every target is a typed Prometheus query with an expression; panel ids are unique.
func Decode(b []byte) (*Dashboard, error) {
	var d Dashboard
	if err := strictErr(d.Model.UnmarshalJSONStrict(b)); err != nil {
		return nil, fmt.Errorf("not a valid dashboard:\n%w", err)
	}
	var raw struct{ Panels []json.RawMessage }
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	d.Model.Panels = nil
	for i, pb := range raw.Panels {
		var head struct{ Type string }
		if err := json.Unmarshal(pb, &head); err != nil {
			return nil, fmt.Errorf("panels[%d]: %w", i, err)
		}
		var pr dashboard.PanelOrRowPanel
		var err error
		if head.Type == "row" {
			pr.RowPanel = &dashboard.RowPanel{}
			err = pr.RowPanel.UnmarshalJSONStrict(pb)
		} else {
			pr.Panel = &dashboard.Panel{}
			err = pr.Panel.UnmarshalJSONStrict(pb)
		}
		if err := strictErr(err); err != nil {
			return nil, fmt.Errorf("panels[%d]: %w", i, err)
		}
		d.Model.Panels = append(d.Model.Panels, pr)
	}
	ids := map[uint32]string{}
	addID := func(id *uint32, title string) error {
		if id == nil {
			return fmt.Errorf("panel %q has no id", title)
		}
		if other, dup := ids[*id]; dup {
			return fmt.Errorf("panels %q and %q share id %d", other, title, *id)
		}
		ids[*id] = title
		return nil
	}
	var panels []dashboard.Panel
	for i, pr := range d.Model.Panels {
		switch {
		case pr.Panel != nil:
			panels = append(panels, *pr.Panel)
		case pr.RowPanel != nil:
			r := pr.RowPanel
			id := r.Id
			if err := addID(&id, deref(r.Title)); err != nil {
				return nil, err
			}
			panels = append(panels, r.Panels...)
		default:
			return nil, fmt.Errorf("panels[%d] is neither a panel nor a row", i)
		}
	}
	for _, p := range panels {
		title := deref(p.Title)
		if title == "" {
			return nil, fmt.Errorf("a %s panel has no title", p.Type)
		}
		if err := addID(p.Id, title); err != nil {
			return nil, err
		}
		if !known(p.Type) {
			return nil, fmt.Errorf("panel %q: type %q is not one of %s", title, p.Type, strings.Join(PanelTypes, ", "))
		}
		if !isPrometheus(p.Datasource) {
			return nil, fmt.Errorf("panel %q: data source is not a Prometheus one", title)
		}
		if len(p.Targets) == 0 {
			return nil, fmt.Errorf("panel %q has no query", title)
		}
		refs := map[string]bool{}
		for i, t := range p.Targets {
			q, ok := t.(*prometheus.Dataquery)
			if !ok {
				return nil, fmt.Errorf("panel %q: targets[%d] is not a Prometheus query (%T)", title, i, t)
			}
			if strings.TrimSpace(q.Expr) == "" || q.RefId == nil || *q.RefId == "" {
				return nil, fmt.Errorf("panel %q: targets[%d] needs an expr and a refId", title, i)
			}
			if refs[*q.RefId] {
				return nil, fmt.Errorf("panel %q: refId %s used twice", title, *q.RefId)
			}
			refs[*q.RefId] = true
			if q.Datasource != nil && !isPrometheus(q.Datasource) {
				return nil, fmt.Errorf("panel %q: targets[%d]'s data source is not a Prometheus one", title, i)
			}
			d.Queries = append(d.Queries, Query{Panel: title, RefID: *q.RefId, Expr: q.Expr, Legend: deref(q.LegendFormat)})
		}
	}
	seen := map[string]bool{}
	for _, v := range d.Model.Templating.List {
		if seen[v.Name] {
			return nil, fmt.Errorf("variable %q defined twice", v.Name)
		}
		seen[v.Name] = true
		switch v.Type {
		case dashboard.VariableTypeQuery, dashboard.VariableTypeDatasource:
		default:
			return nil, fmt.Errorf("variable %q: type %q is not one of query, datasource", v.Name, v.Type)
		}
		if v.Type == dashboard.VariableTypeQuery && !isPrometheus(v.Datasource) {
			return nil, fmt.Errorf("variable %q: data source is not a Prometheus one", v.Name)
		}
		vv := Variable{Name: v.Name, Type: string(v.Type), Multi: v.Multi != nil && *v.Multi,
			IncludeAll: v.IncludeAll != nil && *v.IncludeAll, AllValue: v.AllValue}
		if v.Query != nil {
			switch {
			case v.Query.String != nil:
				vv.Query = *v.Query.String
			case v.Query.Map != nil:
				s, _ := v.Query.Map["query"].(string)
				vv.Query = s
			}
		}
		if vv.Query == "" && v.Definition != nil {
			vv.Query = *v.Definition
		}
		d.Variables = append(d.Variables, vv)
	}
	return &d, nil
}

// strictErr is nil for the empty list of errors the SDK's strict decoders return on success (a
// nil cog.BuildErrors inside a non-nil error).
func strictErr(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

func known(t string) bool {
	for _, k := range PanelTypes {
		if k == t {
			return true
		}
	}
	return false
}

// isPrometheus accepts {"type":"prometheus", "uid": …}: a fixed uid or a data source variable.
func isPrometheus(ds *common.DataSourceRef) bool {
	return ds != nil && ds.Type != nil && *ds.Type == "prometheus"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Names lists the variables' names, sorted.
func (d *Dashboard) Names() []string {
	var out []string
	for _, v := range d.Variables {
		out = append(out, v.Name)
	}
	sort.Strings(out)
	return out
}
