// YAML oracle: reads one JSON request per line {"kind": "template"|"raw", "yaml": "..."} and answers
// {"json": "...", "error": "..."} with sigs.k8s.io/yaml (v1.6.0 sources on gopkg.in/yaml.v2) and µTask's structs.
package main

import (
	"bufio"
	"encoding/json"
	"os"

	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
	"uo/functions"
	"uo/input"
	"uo/jsonschema"
	"uo/step"
	"uo/tasktemplate"
)

type validateReq struct {
	Template  string      `json:"template"`
	Functions [][2]string `json:"functions"`
	Runners   []string    `json:"runners"`
}

// runner: `echo` checks error_type like µTask's echo plugin; any other name accepts every configuration.
type runner struct{ name string }

func (r runner) Exec(string, json.RawMessage, json.RawMessage, interface{}) (interface{}, interface{}, map[string]string, error) {
	return nil, nil, nil, nil
}
func (r runner) ValidConfig(base json.RawMessage, config json.RawMessage) error {
	if r.name != "echo" {
		return nil
	}
	var c struct {
		ErrorType string `json:"error_type"`
	}
	if len(base) > 0 {
		_ = json.Unmarshal(base, &c)
	}
	if len(config) > 0 {
		_ = json.Unmarshal(config, &c)
	}
	switch c.ErrorType {
	case "", "client", "server":
		return nil
	}
	return errors.New("Wrong error type: expecting 'client' or 'server'")
}
func (r runner) Context(string) interface{}                                   { return nil }
func (r runner) Resources(json.RawMessage, json.RawMessage) []string         { return nil }
func (r runner) MetadataSchema() json.RawMessage                             { return nil }

type inputsReq struct {
	Definitions string `json:"definitions"` // YAML list of input definitions (template syntax)
	Values      string `json:"values"`      // JSON object, decoded with UseNumber like the API
}

// checkInputs is µTask's validateInputsValues (models/tasktemplate/template.go).
func checkInputs(raw string) resp {
	var r inputsReq
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return resp{Error: "bad request: " + err.Error()}
	}
	var loaded []input.Input
	if err := yaml.Unmarshal([]byte(r.Definitions), &loaded); err != nil {
		return resp{Error: "decode: " + err.Error()}
	}
	// templates reach task creation from the database, decoded with UseNumber (db/typeconverter.go)
	stored, _ := json.Marshal(loaded)
	var defs []input.Input
	ddec := json.NewDecoder(strings.NewReader(string(stored)))
	ddec.UseNumber()
	if err := ddec.Decode(&defs); err != nil {
		return resp{Error: "decode: " + err.Error()}
	}
	dec := json.NewDecoder(strings.NewReader(r.Values))
	dec.UseNumber()
	var inputValues map[string]interface{}
	if err := dec.Decode(&inputValues); err != nil {
		return resp{Error: "decode: " + err.Error()}
	}
	for _, i := range defs {
		val, ok := inputValues[i.Name]
		if !ok || val == nil || val == "" {
			if i.Default != nil {
				inputValues[i.Name] = i.Default
				continue
			}
			if !i.Optional {
				return resp{Error: fmt.Sprintf("Missing input '%s'", i.Name)}
			}
		} else {
			if err := i.CheckValue(val); err != nil {
				return resp{Error: err.Error()}
			}
		}
	}
	b, _ := json.Marshal(inputValues)
	return resp{JSON: string(b)}
}

func validate(raw string) resp {
	var r validateReq
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return resp{Error: "bad request: " + err.Error()}
	}
	step.ResetRunners()
	functions.Reset()
	for _, name := range r.Runners {
		_ = step.RegisterRunner(name, runner{name})
	}
	for _, f := range r.Functions {
		fn, err := functions.Load(f[0], []byte(f[1]))
		if err != nil {
			return resp{Error: "function: " + err.Error()}
		}
		if err := step.RegisterRunner(fn.Name, fn); err != nil {
			return resp{Error: "function: " + err.Error()}
		}
	}
	var tt tasktemplate.TaskTemplate
	if err := yaml.Unmarshal([]byte(r.Template), &tt); err != nil {
		return resp{Error: "decode: " + err.Error()}
	}
	tt.Normalize()
	res := resp{}
	if err := tt.Valid(); err != nil {
		res.Error = err.Error()
	}
	b, _ := json.Marshal(&tt)
	res.JSON = string(b)
	return res
}

type schemaReq struct {
	URL    string          `json:"url"`
	Schema json.RawMessage `json:"schema"`
	Parts  []string        `json:"parts"`
}

// tryVariablePath is µTask's (models/tasktemplate/validate.go).
func tryVariablePath(properties map[string][]string, parts []string) error {
	lastKey := jsonschema.RootKey
	for _, p := range parts {
		v, ok := properties[lastKey]
		if !ok {
			return fmt.Errorf("Variable %s does not exist", strings.Join(parts, "."))
		}
		found := false
		for _, x := range v {
			if x == p {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("Variable %s does not exist", strings.Join(parts, "."))
		}
		lastKey = p
	}
	return nil
}

func schemaCall(kind string, raw string) resp {
	var r schemaReq
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return resp{Error: "bad request: " + err.Error()}
	}
	switch kind {
	case "normalize":
		s, err := jsonschema.NormalizeAndCompile(r.URL, r.Schema)
		if err != nil {
			return resp{Error: err.Error()}
		}
		return resp{JSON: string(s)}
	default: // lintpath
		props, err := jsonschema.ExtractProperty(r.URL, r.Schema)
		if err != nil {
			return resp{Error: err.Error()}
		}
		if err := tryVariablePath(props, r.Parts); err != nil {
			return resp{Error: err.Error()}
		}
		return resp{}
	}
}

var _ = errors.New

type req struct {
	Kind string `json:"kind"`
	YAML string `json:"yaml"`
}

type resp struct {
	JSON  string `json:"json"`
	Error string `json:"error"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r req
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			out.Encode(resp{Error: "bad request: " + err.Error()})
			continue
		}
		var res resp
		switch r.Kind {
		case "inputs":
			res = checkInputs(r.YAML)
		case "validate":
			res = validate(r.YAML)
		case "normalize", "lintpath":
			res = schemaCall(r.Kind, r.YAML)
		case "template":
			var tt tasktemplate.TaskTemplate
			if err := yaml.Unmarshal([]byte(r.YAML), &tt); err != nil {
				res.Error = err.Error()
			} else {
				tt.Normalize()
				b, err := json.Marshal(&tt)
				if err != nil {
					res.Error = "marshal: " + err.Error()
				}
				res.JSON = string(b)
			}
		default:
			b, err := yaml.YAMLToJSON([]byte(r.YAML))
			if err != nil {
				res.Error = err.Error()
			}
			res.JSON = string(b)
		}
		out.Encode(res)
	}
}
