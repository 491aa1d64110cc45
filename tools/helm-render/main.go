// Command helm-render renders a Helm chart the way `helm template` does, for machines
// where Helm's binary is not packaged. It implements Helm 3's rendering contract with
// Go's text/template, sprig and Helm's own functions (include, tpl, required, toYaml,
// fromYaml, fromYamlArray, toJson, fromJson, fromJsonArray, lookup), the built-in
// objects (.Values, .Release, .Chart, .Capabilities, .Template, .Files) and values
// merging (chart defaults <- -f files in order <- --set/--set-string in order).
//
// Not implemented (the chart in this repository needs none of it): subcharts and
// dependencies, values.schema.json validation, hooks ordering, toToml, .Files.Glob.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/ioutil"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

const usage = `helm-render: render a Helm chart like "helm template", without Helm.

Usage:
  helm-render template RELEASE CHART_DIR [flags]

Flags:
  -n, --namespace NS        .Release.Namespace (default "default")
  -f, --values FILE         values file merged over the chart's values.yaml (repeatable, later wins)
      --set K=V[,K=V]       set values, typed like Helm (ints, bools, null) (repeatable)
      --set-string K=V      set values as strings (repeatable)
      --include-crds        print the chart's crds/ files first
      --show-notes          print the rendered NOTES.txt to stderr
      --kube-version V      .Capabilities.KubeVersion (default "v1.20.2")
  -a, --api-versions G/V    add to .Capabilities.APIVersions (repeatable)
      --strict              fail on a missing value instead of rendering it empty
  -h, --help                this text
`

type options struct {
	release, chartDir, namespace, kubeVersion string
	valueFiles, sets, setStrings, apiVersions []string
	includeCRDs, showNotes, strict            bool
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "helm-render: %v\n\n%s", err, usage)
		os.Exit(2)
	}
	out, notes, err := render(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
	if opts.showNotes && notes != "" {
		fmt.Fprintf(os.Stderr, "NOTES:\n%s\n", notes)
	}
}

func parseArgs(args []string) (*options, error) {
	o := &options{namespace: "default", kubeVersion: "v1.20.2"}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, inline, hasInline := a, "", false
		if strings.HasPrefix(a, "--") {
			if eq := strings.IndexByte(a, '='); eq > 0 {
				name, inline, hasInline = a[:eq], a[eq+1:], true
			}
		}
		value := func() (string, error) {
			if hasInline {
				return inline, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag %s needs a value", name)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch name {
		case "-h", "--help":
			fmt.Print(usage)
			os.Exit(0)
		case "-n", "--namespace":
			v, err = value()
			o.namespace = v
		case "-f", "--values":
			v, err = value()
			o.valueFiles = append(o.valueFiles, v)
		case "--set":
			v, err = value()
			o.sets = append(o.sets, v)
		case "--set-string":
			v, err = value()
			o.setStrings = append(o.setStrings, v)
		case "--kube-version":
			v, err = value()
			o.kubeVersion = v
		case "-a", "--api-versions":
			v, err = value()
			o.apiVersions = append(o.apiVersions, v)
		case "--include-crds":
			o.includeCRDs = true
		case "--show-notes":
			o.showNotes = true
		case "--strict":
			o.strict = true
		default:
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("unknown flag %s", a)
			}
			positional = append(positional, a)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(positional) != 3 || positional[0] != "template" {
		return nil, errors.New(`expected "template RELEASE CHART_DIR"`)
	}
	o.release, o.chartDir = positional[1], positional[2]
	return o, nil
}

// chartMetadata holds Chart.yaml with the field names Helm exposes as .Chart.
type chartMetadata struct {
	APIVersion   string              `json:"apiVersion"`
	Name         string              `json:"name"`
	Version      string              `json:"version"`
	AppVersion   string              `json:"appVersion,omitempty"`
	Description  string              `json:"description,omitempty"`
	Type         string              `json:"type,omitempty"`
	KubeVersion  string              `json:"kubeVersion,omitempty"`
	Home         string              `json:"home,omitempty"`
	Icon         string              `json:"icon,omitempty"`
	Keywords     []string            `json:"keywords,omitempty"`
	Sources      []string            `json:"sources,omitempty"`
	Maintainers  []map[string]string `json:"maintainers,omitempty"`
	Annotations  map[string]string   `json:"annotations,omitempty"`
	Deprecated   bool                `json:"deprecated,omitempty"`
	Dependencies []interface{}       `json:"dependencies,omitempty"`
}

// chartObject is .Chart: Helm exposes Chart.yaml fields under capitalised names.
func (m chartMetadata) chartObject() map[string]interface{} {
	return map[string]interface{}{
		"APIVersion": m.APIVersion, "Name": m.Name, "Version": m.Version,
		"AppVersion": m.AppVersion, "Description": m.Description, "Type": m.Type,
		"KubeVersion": m.KubeVersion, "Home": m.Home, "Icon": m.Icon,
		"Keywords": m.Keywords, "Sources": m.Sources, "Maintainers": m.Maintainers,
		"Annotations": m.Annotations, "Deprecated": m.Deprecated,
	}
}

// apiVersions is .Capabilities.APIVersions with Helm's Has method.
type apiVersions []string

// Has reports whether "group/version" or "group/version/Kind" is available.
func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type kubeVersion struct{ Version, Major, Minor, GitVersion string }

func (k kubeVersion) String() string { return k.Version }

func parseKubeVersion(v string) (kubeVersion, error) {
	m := regexp.MustCompile(`^v?(\d+)\.(\d+)(\.\d+)?`).FindStringSubmatch(v)
	if m == nil {
		return kubeVersion{}, fmt.Errorf("--kube-version %q is not a version like v1.20.2", v)
	}
	full := "v" + strings.TrimPrefix(v, "v")
	return kubeVersion{Version: full, Major: m[1], Minor: m[2], GitVersion: full}, nil
}

var stderr = os.Stderr

// defaultAPIVersions lists what a Kubernetes 1.20 apiserver serves that charts test for.
var defaultAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "policy/v1beta1", "rbac.authorization.k8s.io/v1",
	"coordination.k8s.io/v1", "networking.k8s.io/v1", "apiextensions.k8s.io/v1",
	"discovery.k8s.io/v1beta1", "autoscaling/v1", "autoscaling/v2beta2",
	"admissionregistration.k8s.io/v1", "storage.k8s.io/v1", "events.k8s.io/v1",
}

// files is .Files: read-only access to the chart's non-template files.
type files map[string][]byte

func (f files) Get(name string) string { return string(f[name]) }

func (f files) GetBytes(name string) []byte { return f[name] }

func render(o *options) (string, string, error) {
	chartDir := filepath.Clean(o.chartDir)
	raw, err := ioutil.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", "", fmt.Errorf("reading Chart.yaml: %w", err)
	}
	var meta chartMetadata
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		return "", "", fmt.Errorf("Chart.yaml: %w", err)
	}
	if meta.Name == "" || meta.Version == "" {
		return "", "", errors.New("Chart.yaml: name and version are required")
	}
	if meta.APIVersion != "v2" {
		return "", "", fmt.Errorf("Chart.yaml: apiVersion %q: only v2 charts are supported", meta.APIVersion)
	}
	if len(meta.Dependencies) > 0 {
		return "", "", errors.New("Chart.yaml: dependencies (subcharts) are not supported")
	}

	defaults, err := readValuesFile(filepath.Join(chartDir, "values.yaml"), true)
	if err != nil {
		return "", "", err
	}
	user := map[string]interface{}{}
	for _, f := range o.valueFiles {
		fileVals, err := readValuesFile(f, false)
		if err != nil {
			return "", "", err
		}
		user = mergeMaps(user, fileVals)
	}
	for _, s := range o.sets {
		if err := parseSet(s, user, false); err != nil {
			return "", "", fmt.Errorf("failed parsing --set data: %w", err)
		}
	}
	for _, s := range o.setStrings {
		if err := parseSet(s, user, true); err != nil {
			return "", "", fmt.Errorf("failed parsing --set-string data: %w", err)
		}
	}
	values := coalesce(defaults, user)

	kv, err := parseKubeVersion(o.kubeVersion)
	if err != nil {
		return "", "", err
	}
	chartFiles := files{}
	templates := map[string]string{}
	var crds []string
	err = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if info.IsDir() {
			if rel == "charts" {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := ioutil.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "templates/"):
			templates[path.Join(meta.Name, rel)] = string(data)
		case strings.HasPrefix(rel, "crds/"):
			crds = append(crds, rel)
			chartFiles[rel] = data
		default:
			chartFiles[rel] = data
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	sort.Strings(crds)

	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": o.release, "Namespace": o.namespace, "IsInstall": true,
			"IsUpgrade": false, "Revision": 1, "Service": "Helm",
		},
		"Chart": meta.chartObject(),
		"Capabilities": map[string]interface{}{
			"KubeVersion": kv,
			"APIVersions": apiVersions(append(append([]string{}, defaultAPIVersions...), o.apiVersions...)),
			"HelmVersion": map[string]interface{}{"Version": "v3.5.0-helm-render"},
		},
		"Files": chartFiles,
	}

	rendered, err := renderTemplates(templates, top, o.strict)
	if err != nil {
		return "", "", err
	}

	var out strings.Builder
	if o.includeCRDs {
		for _, c := range crds {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", path.Join(meta.Name, c), strings.TrimSpace(string(chartFiles[c])))
		}
	}
	notesName := path.Join(meta.Name, "templates", "NOTES.txt")
	notes := rendered[notesName]
	delete(rendered, notesName)

	type doc struct {
		source, body, kind string
		order              int
	}
	var docs []doc
	names := make([]string, 0, len(rendered))
	for n := range rendered {
		names = append(names, n)
	}
	sort.Strings(names)
	sep := regexp.MustCompile(`(?m)^---\s*$`)
	for _, n := range names {
		for _, body := range sep.Split(rendered[n], -1) {
			if strings.TrimSpace(stripComments(body)) == "" {
				continue
			}
			var head struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(body), &head); err != nil {
				return "", "", fmt.Errorf("YAML parse error on %s: %w", n, err)
			}
			docs = append(docs, doc{n, strings.TrimSpace(body), head.Kind, kindOrder(head.Kind)})
		}
	}
	sort.SliceStable(docs, func(i, j int) bool { return docs[i].order < docs[j].order })
	for _, d := range docs {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", d.source, d.body)
	}
	return out.String(), strings.TrimSpace(notes), nil
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// installOrder is Helm's InstallOrder: kinds earlier in the list are applied first.
var installOrder = []string{
	"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
	"StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
	"ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
	"RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
	"ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
	"StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

func kindOrder(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder)
}

// renderTemplates executes every non-partial template the way Helm's engine does:
// all files parsed into one set (so defines are shared), partials (_*) not emitted,
// missing values rendered empty unless strict.
func renderTemplates(templates map[string]string, top map[string]interface{}, strict bool) (map[string]string, error) {
	t := template.New("gotpl")
	if strict {
		t.Option("missingkey=error")
	} else {
		t.Option("missingkey=zero")
	}
	includedNames := map[string]int{}
	const recursionMaxNums = 1000
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["fromYamlArray"] = fromYAMLArray
	funcs["toJson"] = toJSON
	funcs["fromJson"] = fromJSON
	funcs["fromJsonArray"] = fromJSONArray
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	funcs["required"] = func(warn string, val interface{}) (interface{}, error) {
		if val == nil {
			return val, errors.New(warn)
		}
		if s, ok := val.(string); ok && s == "" {
			return val, errors.New(warn)
		}
		return val, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		if v, ok := includedNames[name]; ok {
			if v > recursionMaxNums {
				return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
			}
			includedNames[name]++
		} else {
			includedNames[name] = 1
		}
		err := t.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, vals interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		if _, err := clone.New("tpl").Parse(text); err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := clone.ExecuteTemplate(&buf, "tpl", vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	t.Funcs(funcs)

	names := make([]string, 0, len(templates))
	for n := range templates {
		names = append(names, n)
	}
	// Helm parses deeper paths first, then lexicographically.
	sort.Slice(names, func(i, j int) bool {
		di, dj := strings.Count(names[i], "/"), strings.Count(names[j], "/")
		if di != dj {
			return di > dj
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		if _, err := t.New(n).Parse(templates[n]); err != nil {
			return nil, fmt.Errorf("parse error in %q: %w", n, err)
		}
	}
	out := map[string]string{}
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			continue
		}
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": n, "BasePath": path.Join(strings.SplitN(n, "/", 2)[0], "templates")}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, n, vals); err != nil {
			return nil, fmt.Errorf("execution error in %q: %w", n, err)
		}
		out[n] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return out, nil
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(s string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}
