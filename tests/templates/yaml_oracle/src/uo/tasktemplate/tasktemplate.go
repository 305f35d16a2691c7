package tasktemplate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/juju/errors"

	"uo/input"
	"uo/jsonschema"
	"uo/step"
	"uo/utask"
	"uo/utils"
	"uo/values"
)

type TaskTemplate struct {
	ID              int64                  `json:"-" db:"id"`
	Name            string                 `json:"name" db:"name"`
	Description     string                 `json:"description" db:"description"`
	LongDescription *string                `json:"long_description,omitempty" db:"long_description"`
	DocLink         *string                `json:"doc_link,omitempty" db:"doc_link"`
	TitleFormat     string                 `json:"title_format,omitempty" db:"title_format"`
	ResultFormat    map[string]interface{} `json:"result_format,omitempty" db:"result_format"`

	AllowedResolverGroups     []string `json:"allowed_resolver_groups" db:"allowed_resolver_groups"`
	AllowedResolverUsernames  []string `json:"allowed_resolver_usernames" db:"allowed_resolver_usernames"`
	AllowAllResolverUsernames bool     `json:"allow_all_resolver_usernames" db:"allow_all_resolver_usernames"`
	AutoRunnable              bool     `json:"auto_runnable" db:"auto_runnable"`
	Blocked                   bool     `json:"blocked" db:"blocked"`
	Hidden                    bool     `json:"hidden" db:"hidden"`
	RetryMax                  *int     `json:"retry_max,omitempty" db:"retry_max"`
	AllowTaskStartOver        bool     `json:"allow_task_start_over" db:"allow_task_start_over"`

	Inputs             []input.Input              `json:"inputs,omitempty" db:"inputs"`
	ResolverInputs     []input.Input              `json:"resolver_inputs,omitempty" db:"resolver_inputs"`
	Variables          []values.Variable          `json:"variables,omitempty" db:"variables"`
	Tags               map[string]string          `json:"tags,omitempty" db:"tags"`
	Steps              map[string]*step.Step      `json:"steps,omitempty" db:"steps"`
	BaseConfigurations map[string]json.RawMessage `json:"base_configurations" db:"base_configurations"`
}
// Normalize transforms a template's name into a standard format
func (tt *TaskTemplate) Normalize() {
	tt.Name = utils.NormalizeName(tt.Name)
}

// Valid asserts that the content of a task template is correct:
// - metadata (name, description, etc...) is valid
// - inputs are correctly expressed
// - steps are coherent (dependency graph, templating handles)
func (tt *TaskTemplate) Valid() (err error) {
	defer errors.DeferredAnnotatef(&err, "Invalid task template")

	if err := utils.ValidString("template name", tt.Name); err != nil {
		return err
	}

	if err := utils.ValidString("template description", tt.Description); err != nil {
		return err
	}

	if err := utils.ValidString("template title format", tt.TitleFormat); err != nil {
		return err
	}

	if tt.DocLink != nil {
		if err := utils.ValidString("template doc link", *tt.DocLink); err != nil {
			return err
		}
	}

	if err := utils.ValidateTags(tt.Tags); err != nil {
		return err
	}

	if tt.LongDescription != nil {
		if err := utils.ValidText("template long description", *tt.LongDescription); err != nil {
			return err
		}
	}

	if tt.AutoRunnable && len(tt.ResolverInputs) > 0 {
		return errors.BadRequestf("A template can't be auto runnable if it has resolver inputs")
	}

	if tt.AllowAllResolverUsernames && !tt.AutoRunnable {
		return errors.BadRequestf("A template that can be resolved by everybody have to be auto-runnable")
	}

	inputNames, err := validateInputs(tt.Inputs)
	if err != nil {
		return err
	}

	resolverInputNames, err := validateInputs(tt.ResolverInputs)
	if err != nil {
		return err
	}

	if err := validateVariables(tt.Variables); err != nil {
		return err
	}

	// valid and normalize steps:
	for name, st := range tt.Steps {
		if err := st.ValidAndNormalize(name, tt.BaseConfigurations, tt.Steps); err != nil {
			return errors.NewNotValid(err, fmt.Sprintf("Invalid step %s", name))
		}

		if err := st.ValidAndNormalizeNewStep(); err != nil {
			return errors.NewNotValid(err, fmt.Sprintf("Invalid step %s", name))
		}
	}

	// MarshalIndent as it's easier to read line by line
	tmplJSON, err := utils.JSONMarshalIndent(tt, "", " ")
	if err != nil {
		return err
	}

	if err := validTemplate(string(tmplJSON), inputNames, resolverInputNames, tt.Steps); err != nil {
		return errors.NewNotValid(err, "Invalid text-template handles within task template")
	}

	return nil
}

// validateInputs performs sanity checks on a input set before template creation
func validateInputs(inputs []input.Input) ([]string, error) {
	inputNames := make([]string, 0)
	for _, i := range inputs {
		if err := i.Valid(); err != nil {
			return nil, err
		}
		inputNames = append(inputNames, i.Name)
	}
	return inputNames, nil
}

func validateVariables(variables []values.Variable) error {
	for _, variable := range variables {
		if variable.Name == "" {
			return errors.BadRequestf("variable name can't be empty")
		}
		if variable.Value != nil && variable.Expression != "" {
			return errors.BadRequestf("variable %q can't have both value and expression defined", variable.Name)
		}
		if variable.Value == nil && variable.Expression == "" {
			return errors.BadRequestf("variable %q expression and value can't be empty at the same time", variable.Name)
		}
		if variable.Value != nil && variable.ExpressionTimeout != "" {
			return errors.BadRequestf("variable %q expression timeout cannot be defined when value is defined", variable.Name)
		}
		if variable.ExpressionTimeout != "" {
			_, err := time.ParseDuration(variable.ExpressionTimeout)
			if err != nil {
				return errors.BadRequestf("variable %q %s", variable.Name, err)
			}
		}
	}

	return nil
}

const (
	variableDoesNotExist = "Variable %s does not exist"
)

var (
	tmplRegex = regexp.MustCompile(`{{[^}\.]*(\.[A-Za-z0-9_\.]+)[^{]*}}`)
)

func validTemplate(template string, inputs, resolverInputs []string, steps map[string]*step.Step) error {
	// Ranging over tmplRegex.FindAllStringSubmatch does not match all "should-match" values, so
	// we split the indented json line by line, and match each lines.
	matches := make([][]string, 0)
	for _, s := range strings.Split(template, "\n") {
		matches = append(matches, tmplRegex.FindAllStringSubmatch(s, -1)...)
	}

	stepNames := stepNames(steps)
	taskInfoKeys := []string{"resolver_username", "created", "requester_username", "requester_groups", "task_id", "region", "resolution_id", "watcher_usernames", "watcher_groups"}
	for _, m := range matches {
		parts := strings.Split(m[1], ".")
		if len(parts) >= 3 {
			valueType := parts[1]
			key := parts[2]
			switch valueType {
			case values.StepKey:
				if !utils.ListContainsString(stepNames, key) {
					return fmt.Errorf("step: Wrong step key: %s", key)
				}
				if len(parts) > 3 {
					stepdata := parts[3]
					switch stepdata {
					case "output":
						// "this" doesnt give enough context to fetch jsonschema, no linting -> only check conditions impacted
						// TODO make sure that "this" is only used in check condition
						if key != utask.This && len(parts) >= 5 {
							if err := lintTemplate(steps, parts[2:]); err != nil {
								return errors.Annotatef(err, "Linting error: step %s", key)
							}
						}
					case "metadata":
						if key != utask.This && len(parts) >= 5 {
							if err := lintStepDetails(steps, parts[2:]); err != nil {
								return errors.Annotatef(err, "Linting error: step details for step %q", key)
							}
						}
					}
				}
			case values.InputKey:
				if !utils.ListContainsString(inputs, key) {
					return fmt.Errorf("Wrong input key: %s", key)
				}
			case values.ResolverInputKey:
				if !utils.ListContainsString(resolverInputs, key) {
					return fmt.Errorf("Wrong input key: %s", key)
				}
			case values.ConfigKey:
				// TODO... not sure how to check this... against global secret store?
			case values.TaskKey:
				if !utils.ListContainsString(taskInfoKeys, key) {
					return fmt.Errorf("Wrong task key: %s", key)
				}
			default:
				// other templating handles might fall within a template "range"
				// or such other constructs, not our common use case
				// this won't leak anything -> template author proceeds at his own risk
			}
		}
	}
	return nil
}

// expect parts to contain:
// - {stepname}
// - "output"
// - ... list of keys within object
func lintTemplate(steps map[string]*step.Step, parts []string) error {
	stepName := parts[0]

	v, ok := steps[stepName]
	if !ok {
		return errors.Errorf("Unknown step %s", stepName)
	}

	return lint(stepName, v.Schema, parts[2:]...)
}

// expect parts to contain:
// - {stepname}
// - "metadata"
// - ... list of keys within object
func lintStepDetails(steps map[string]*step.Step, parts []string) error {
	stepName := parts[0]

	v, ok := steps[stepName]
	if !ok {
		return errors.Errorf("Unknown step %s", stepName)
	}

	schema := v.ExecutorMetadata()

	return lint(stepName, schema, parts[2:]...)
}

func lint(url string, schema json.RawMessage, parts ...string) error {
	if len(schema) == 0 {
		return nil
	}
	properties, err := jsonschema.ExtractProperty(url, schema)
	if err != nil {
		return err
	}
	return tryVariablePath(properties, parts)
}

func stepNames(stepMap map[string]*step.Step) []string {
	stepNames := []string{utask.This} // accept "this" as a valid step reference in values map
	for name := range stepMap {
		stepNames = append(stepNames, name)
	}
	return stepNames
}

// tryVariablePath tries to match a chain of variables with the given properties.
// For example:
//
//	given properties = map[foo:[bar] bar:[bar] qux:[foo] utaskRootKey:[qux]]
//	and parts = [qux foo bar bar bar]
//	"qux.foo.bar.bar.bar" is valid since "qux" makes "foo", "foo" makes "bar"
//	and "bar" makes "bar".
//	"qux.foo.bar.foo" is not valid since we cannot make "foo" from "bar".
//	"foo.bar.bar" is not valid either since we start looping on parts using
//	utaskRootKey map, which contains root properties of the json schema.
func tryVariablePath(properties map[string][]string, parts []string) error {
	// start with root properties
	lastKey := jsonschema.RootKey

	for _, p := range parts {
		v, ok := properties[lastKey]
		if !ok {
			return errors.Errorf(variableDoesNotExist, strings.Join(parts, "."))
		}
		if !utils.ListContainsString(v, p) {
			return errors.Errorf(variableDoesNotExist, strings.Join(parts, "."))
		}
		lastKey = p
	}

	return nil
}
var _ = json.Marshal
