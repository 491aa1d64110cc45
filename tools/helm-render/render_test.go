package main

import (
	"io/ioutil"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSetIsTypedLikeHelm(t *testing.T) {
	vals := map[string]interface{}{}
	if err := parseSet(`a.b=1,c=true,d=0042,e=null,f[1].g=x,h={p,q},i=a\,b,j\.k=v`, vals, false); err != nil {
		t.Fatal(err)
	}
	want := map[string]interface{}{
		"a": map[string]interface{}{"b": int64(1)},
		"c": true, "d": "0042", "e": nil,
		"f":   []interface{}{nil, map[string]interface{}{"g": "x"}},
		"h":   []interface{}{"p", "q"},
		"i":   "a,b",
		"j.k": "v",
	}
	if !reflect.DeepEqual(vals, want) {
		t.Fatalf("got %#v\nwant %#v", vals, want)
	}
	s := map[string]interface{}{}
	if err := parseSet("n=5,b=true", s, true); err != nil || s["n"] != "5" || s["b"] != "true" {
		t.Fatalf("--set-string: got %#v, %v", s, err)
	}
	if err := parseSet("novalue", map[string]interface{}{}, false); err == nil {
		t.Fatal("a key without a value was accepted")
	}
}

func TestCoalesceUserWinsAndNullDeletes(t *testing.T) {
	defaults := map[string]interface{}{
		"keep": "d", "over": "d", "drop": "d",
		"m": map[string]interface{}{"x": 1.0, "y": 2.0},
	}
	user := map[string]interface{}{"over": "u", "drop": nil, "m": map[string]interface{}{"y": 3.0}}
	got := coalesce(defaults, user)
	want := map[string]interface{}{"keep": "d", "over": "u", "m": map[string]interface{}{"x": 1.0, "y": 3.0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	merged := mergeMaps(map[string]interface{}{"a": map[string]interface{}{"b": 1.0, "c": 1.0}},
		map[string]interface{}{"a": map[string]interface{}{"c": 2.0}})
	if !reflect.DeepEqual(merged, map[string]interface{}{"a": map[string]interface{}{"b": 1.0, "c": 2.0}}) {
		t.Fatalf("mergeMaps: %#v", merged)
	}
}

func writeChart(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := ioutil.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRenderHelmFunctionsAndObjects(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: \"9.9\"\n",
		"values.yaml": "replicas: 2\nlabels: {a: b}\nmsg: 'hi {{ .Release.Name }}'\nlist: [1, 2]\n",
		"templates/_h.tpl": `{{- define "demo.labels" -}}
app: {{ .Chart.Name }}
{{ toYaml .Values.labels }}
{{- end -}}`,
		"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Version }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "demo.labels" . | nindent 4 }}
data:
  replicas: {{ .Values.replicas | quote }}
  msg: {{ tpl .Values.msg . | quote }}
  missing: "{{ .Values.nothing }}"
  kube: {{ .Capabilities.KubeVersion.Minor | quote }}
  has: {{ .Capabilities.APIVersions.Has "apps/v1" | quote }}
  app: {{ .Chart.AppVersion | quote }}
  tpl: {{ .Template.Name | quote }}
  list: {{ toJson .Values.list | quote }}
  round: {{ (fromYaml (toYaml .Values.labels)).a | quote }}
`,
		"templates/sa.yaml":  "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n",
		"templates/off.yaml": "{{- if .Values.off }}\nkind: Secret\n{{- end }}\n",
		"templates/NOTES.txt": "notes for {{ .Release.Name }}\n",
	})
	out, notes, err := render(&options{release: "rel", chartDir: dir, namespace: "ns", kubeVersion: "v1.20.2",
		sets: []string{"replicas=3"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"name: rel-1.2.3", "namespace: ns", "    app: demo\n    a: b", `replicas: "3"`, `msg: "hi rel"`,
		`missing: ""`, `kube: "20"`, `has: "true"`, `app: "9.9"`, `tpl: "demo/templates/cm.yaml"`,
		`list: "[1,2]"`, `round: "b"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "kind: ServiceAccount") > strings.Index(out, "kind: ConfigMap") {
		t.Errorf("ServiceAccount not ordered before ConfigMap:\n%s", out)
	}
	if strings.Contains(out, "Secret") || strings.Contains(out, "notes for") {
		t.Errorf("empty template or NOTES.txt emitted:\n%s", out)
	}
	if notes != "notes for rel" {
		t.Errorf("notes = %q", notes)
	}
}

func TestRenderErrors(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"Chart.yaml":       "apiVersion: v2\nname: demo\nversion: 1.0.0\n",
		"templates/x.yaml": `name: {{ required "name is required" .Values.name }}`,
	})
	if _, _, err := render(&options{release: "r", chartDir: dir, kubeVersion: "v1.20.2"}); err == nil ||
		!strings.Contains(err.Error(), "name is required") {
		t.Fatalf("required: err = %v", err)
	}
	if _, _, err := render(&options{release: "r", chartDir: dir, kubeVersion: "v1.20.2", strict: true,
		sets: []string{"name=x"}}); err != nil {
		t.Fatalf("strict with the value set: %v", err)
	}
	v1 := writeChart(t, map[string]string{"Chart.yaml": "apiVersion: v1\nname: demo\nversion: 1.0.0\n"})
	if _, _, err := render(&options{release: "r", chartDir: v1, kubeVersion: "v1.20.2"}); err == nil {
		t.Fatal("a v1 chart was accepted")
	}
}
