package main

import (
	"fmt"
	"io/ioutil"
	"strconv"
	"strings"

	"github.com/ghodss/yaml"
)

// readValuesFile parses a values file the way Helm does (YAML via JSON, so numbers are
// float64). A missing chart values.yaml is an empty map; a missing user file is an error.
func readValuesFile(name string, optional bool) (map[string]interface{}, error) {
	data, err := ioutil.ReadFile(name)
	if err != nil {
		if optional {
			return map[string]interface{}{}, nil
		}
		return nil, fmt.Errorf("reading values file: %w", err)
	}
	vals := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", name, err)
	}
	if vals == nil {
		vals = map[string]interface{}{}
	}
	return vals, nil
}

// mergeMaps is how Helm combines several -f files: later maps win, maps merge deeply.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]interface{}); ok {
			if om, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesce merges chart defaults under user values: the user wins, maps merge deeply,
// and a user null removes the default key (Helm's CoalesceValues).
func coalesce(defaults, user map[string]interface{}) map[string]interface{} {
	if user == nil {
		user = map[string]interface{}{}
	}
	for k, dv := range defaults {
		uv, present := user[k]
		switch {
		case !present:
			user[k] = deepCopy(dv)
		case uv == nil:
			delete(user, k)
		default:
			um, uIsMap := uv.(map[string]interface{})
			dm, dIsMap := dv.(map[string]interface{})
			if uIsMap && dIsMap {
				user[k] = coalesce(dm, um)
			} else if dIsMap && !uIsMap {
				fmt.Fprintf(stderr, "coalesce.go: warning: destination for %s is a table. Ignoring non-table value (%v)\n", k, uv)
				user[k] = deepCopy(dv)
			}
		}
	}
	return user
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	default:
		return v
	}
}

// parseSet applies one --set (or --set-string) argument to vals, Helm strvals style:
// "a.b=1,c[0]=x,d={p,q}"; "\" escapes , . = [ ] { }.
func parseSet(s string, vals map[string]interface{}, asString bool) error {
	for _, item := range splitUnescaped(s, ',', true) {
		if item == "" {
			continue
		}
		kv := splitUnescaped(item, '=', false)
		if len(kv) < 2 {
			return fmt.Errorf("key %q has no value", unescape(item))
		}
		key, raw := kv[0], strings.Join(kv[1:], "=")
		var val interface{}
		if len(raw) >= 2 && raw[0] == '{' && raw[len(raw)-1] == '}' {
			var list []interface{}
			for _, e := range splitUnescaped(raw[1:len(raw)-1], ',', false) {
				list = append(list, typed(unescape(e), asString))
			}
			if list == nil {
				list = []interface{}{}
			}
			val = list
		} else {
			val = typed(unescape(raw), asString)
		}
		if err := setPath(vals, splitUnescaped(key, '.', false), val); err != nil {
			return fmt.Errorf("%s: %w", unescape(key), err)
		}
	}
	return nil
}

// typed infers a --set value's type like Helm: true/false, null, integers (no leading 0).
func typed(v string, asString bool) interface{} {
	if asString {
		return v
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if v == "0" {
		return int64(0)
	}
	if v != "" && v[0] != '0' {
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
	}
	return v
}

func setPath(m map[string]interface{}, segments []string, val interface{}) error {
	seg := segments[0]
	name, indexes, err := splitIndexes(seg)
	if err != nil {
		return err
	}
	last := len(segments) == 1
	if len(indexes) == 0 {
		if last {
			m[name] = val
			return nil
		}
		child, ok := m[name].(map[string]interface{})
		if !ok {
			child = map[string]interface{}{}
			m[name] = child
		}
		return setPath(child, segments[1:], val)
	}
	list, _ := m[name].([]interface{})
	list, err = setInList(list, indexes, segments[1:], val)
	if err != nil {
		return err
	}
	m[name] = list
	return nil
}

func setInList(list []interface{}, indexes []int, rest []string, val interface{}) ([]interface{}, error) {
	i := indexes[0]
	for len(list) <= i {
		list = append(list, nil)
	}
	if len(indexes) > 1 {
		inner, _ := list[i].([]interface{})
		inner, err := setInList(inner, indexes[1:], rest, val)
		list[i] = inner
		return list, err
	}
	if len(rest) == 0 {
		list[i] = val
		return list, nil
	}
	child, ok := list[i].(map[string]interface{})
	if !ok {
		child = map[string]interface{}{}
		list[i] = child
	}
	return list, setPath(child, rest, val)
}

func splitIndexes(seg string) (string, []int, error) {
	open := indexUnescaped(seg, '[')
	if open < 0 {
		return unescape(seg), nil, nil
	}
	name := unescape(seg[:open])
	var idx []int
	rest := seg[open:]
	for rest != "" {
		if rest[0] != '[' {
			return "", nil, fmt.Errorf("unexpected %q after index", rest)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", nil, fmt.Errorf("unterminated index in %q", seg)
		}
		n, err := strconv.Atoi(rest[1:end])
		if err != nil || n < 0 {
			return "", nil, fmt.Errorf("index %q is not a non-negative integer", rest[1:end])
		}
		if n > 65536 {
			return "", nil, fmt.Errorf("index of %d is greater than maximum supported index 65536", n)
		}
		idx = append(idx, n)
		rest = rest[end+1:]
	}
	return name, idx, nil
}

func indexUnescaped(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == c {
			return i
		}
	}
	return -1
}

// splitUnescaped splits on sep outside backslash escapes (and outside {...} when braces).
func splitUnescaped(s string, sep byte, braces bool) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case braces && s[i] == '{':
			depth++
		case braces && s[i] == '}' && depth > 0:
			depth--
		case s[i] == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
