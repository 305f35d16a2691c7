// Package gjson is a minimal stand-in for tidwall/gjson's GetBytes on dotted key paths.
package gjson

import (
	"encoding/json"
	"strconv"
	"strings"
)

type Result struct{ Raw string }

func GetBytes(data []byte, path string) Result {
	var v interface{}
	if err := json.Unmarshal(data, &v); err != nil {
		return Result{}
	}
	for _, part := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]interface{}:
			x, ok := node[part]
			if !ok {
				return Result{}
			}
			v = x
		case []interface{}:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(node) {
				return Result{}
			}
			v = node[i]
		default:
			return Result{}
		}
	}
	b, _ := json.Marshal(v)
	return Result{Raw: string(b)}
}
