// Oracle for the differential templating tests: Go text/template + Sprig + µTask's own functions.
// Reads one JSON object a line on stdin: {"template": "...", "data": {...}}; data is decoded with
// exact numbers (json.Number), as µTask decodes inputs and outputs. Writes one JSON object a line:
// {"output": "..."} or {"error": "..."}.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"text/template"

	"github.com/Masterminds/sprig"
)

type request struct {
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
}

type response struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

func walk(root interface{}, keys []string) interface{} {
	cur := root
	for _, k := range keys {
		m, ok := cur.(map[string]interface{})
		if !ok {
			return nil
		}
		cur, ok = m[k]
		if !ok {
			return nil
		}
	}
	return cur
}

func funcs(root interface{}) template.FuncMap {
	fm := sprig.GenericFuncMap()
	fm["field"] = func(keys ...string) interface{} { return walk(root, keys) }
	fm["fieldFrom"] = func(params ...interface{}) (interface{}, error) {
		if len(params) < 2 {
			return nil, errors.New("invalid number of parameters given")
		}
		obj, ok := params[len(params)-1].(map[string]interface{})
		if !ok {
			return nil, errors.New("unable to cast given data to a map[string]")
		}
		keys := []string{}
		for _, p := range params[:len(params)-1] {
			s, _ := p.(string)
			keys = append(keys, s)
		}
		return walk(obj, keys), nil
	}
	fm["fromJson"] = func(s string) interface{} {
		var out interface{}
		_ = json.Unmarshal([]byte(s), &out)
		return out
	}
	fm["mustFromJson"] = func(s string) (interface{}, error) {
		var out interface{}
		err := json.Unmarshal([]byte(s), &out)
		return out, err
	}
	fm["b64RawEnc"] = func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
	fm["b64RawDec"] = func(s string) string {
		b, err := base64.RawStdEncoding.DecodeString(s)
		if err != nil {
			return err.Error()
		}
		return string(b)
	}
	return template.FuncMap(fm)
}

func render(req request) response {
	var data interface{}
	if len(req.Data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Data))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			msg := "bad data: " + err.Error()
			return response{Error: &msg}
		}
	}
	tmpl, err := template.New("tmpl").Funcs(funcs(data)).Parse(req.Template)
	if err != nil {
		msg := err.Error()
		return response{Error: &msg}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		msg := err.Error()
		return response{Error: &msg}
	}
	out := buf.String()
	return response{Output: &out}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			var resp response
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				msg := "bad request: " + jerr.Error()
				resp = response{Error: &msg}
			} else {
				resp = func() (r response) {
					defer func() {
						if p := recover(); p != nil {
							msg := "panic"
							r = response{Error: &msg}
						}
					}()
					return render(req)
				}()
			}
			_ = enc.Encode(resp)
			_ = out.Flush()
		}
		if err != nil {
			return
		}
	}
}
