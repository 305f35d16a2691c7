package step

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/juju/errors"

	"uo/condition"
	"uo/executor"
	"uo/functions"
	"uo/jsonschema"
	"uo/utask"
	"uo/utils"
)

// retry patterns for a step
const (
	RetrySeconds = "seconds"
	RetryMinutes = "minutes"
	RetryHours   = "hours"

	ForEachStrategyParallel = "parallel"
	ForEachStrategySequence = "sequence"
)

// possible states of a step
const (
	StateAny           = "ANY" // wildcard
	StateTODO          = "TODO"
	StateWaiting       = "WAITING"
	StateRunning       = "RUNNING"
	StateDone          = "DONE"
	StateClientError   = "CLIENT_ERROR"
	StateServerError   = "SERVER_ERROR"
	StateFatalError    = "FATAL_ERROR"
	StateCrashed       = "CRASHED"
	StatePrune         = "PRUNE"
	StateToRetry       = "TO_RETRY"
	StateRetryNow      = "RETRY_NOW"
	StateAfterrunError = "AFTERRUN_ERROR"

	// steps that carry a foreach list of arguments
	StateExpanded = "EXPANDED"
)

const (
	stepRefThis = utask.This

	defaultMaxRetries = 10000

	maxExecutionDelay = time.Duration(20) * time.Second
)

var (
	builtinStates            = []string{StateTODO, StateWaiting, StateRunning, StateDone, StateClientError, StateServerError, StateFatalError, StateCrashed, StatePrune, StateToRetry, StateRetryNow, StateAfterrunError, StateAny, StateExpanded}
	stepConditionValidStates = []string{StateDone, StatePrune, StateToRetry, StateRetryNow, StateFatalError, StateClientError}
	runnableStates           = []string{StateTODO, StateServerError, StateClientError, StateFatalError, StateCrashed, StateToRetry, StateRetryNow, StateAfterrunError, StateExpanded, StateWaiting} // everything but RUNNING, DONE, PRUNE
	retriableStates          = []string{StateServerError, StateToRetry, StateAfterrunError}
	validAfterRunStates      = []string{StateDone, StateClientError, StateAfterrunError}
)

type Step struct {
	Name           string                 `json:"name"`
	Description    string                 `json:"description"`
	Idempotent     bool                   `json:"idempotent"`
	Action         executor.Executor      `json:"action"`
	PreHook        *executor.Executor     `json:"pre_hook,omitempty"`
	Schema         json.RawMessage        `json:"json_schema,omitempty"`
	Output         interface{}            `json:"output,omitempty"`
	Metadata       interface{}            `json:"metadata,omitempty"`
	Children       []interface{}          `json:"children,omitempty"`
	Error          string                 `json:"error,omitempty"`
	State          string                 `json:"state,omitempty"`
	RetryPattern   string                 `json:"retry_pattern,omitempty"`
	TryCount       int                    `json:"try_count,omitempty"`
	MaxRetries     int                    `json:"max_retries,omitempty"`
	LastRun        time.Time              `json:"last_run,omitempty"`
	ExecutionDelay time.Duration          `json:"execution_delay,omitempty"`
	Dependencies   []string               `json:"dependencies,omitempty"`
	CustomStates   []string               `json:"custom_states,omitempty"`
	Conditions     []*condition.Condition `json:"conditions,omitempty"`
	ForEach         string          `json:"foreach,omitempty"`
	ForEachStrategy string          `json:"foreach_strategy"`
	ChildrenSteps   []string        `json:"children_steps,omitempty"`
	ChildrenStepMap map[string]bool `json:"children_steps_map,omitempty"`
	Item            interface{}     `json:"item,omitempty"`
	Resources []string `json:"resources"`
	Tags map[string]string `json:"tags"`
}
// ValidAndNormalize asserts that a step carries correct configuration
// - checks that executor is registered
// - validates retry pattern
// - validates custom states for the step (no collisions with builtin states)
// - validates conditions
// - validates the provided json schema for result validation
// - checks dependency declaration against the task's execution tree
func (st *Step) ValidAndNormalize(name string, baseConfigs map[string]json.RawMessage, steps map[string]*Step) error {
	if name == stepRefThis {
		return errors.BadRequestf("'%s' step name is reserved", stepRefThis)
	}

	// valid action executor
	if _, err := validExecutor(baseConfigs, st.Action, st.PreHook); err != nil {
		return errors.NewNotValid(err, "Invalid executor action")
	}
	preHook, err := st.GetPreHook()
	if err != nil {
		return errors.NewNotValid(err, "Invalid prehook action")
	}
	if preHook != nil {
		ph, err := validExecutor(baseConfigs, *preHook, nil)
		if ph != nil {
			return errors.NewNotValid(nil, "Invalid prehook on a prehook")
		}
		if err != nil {
			return errors.NewNotValid(err, "Invalid prehook action")
		}
	}

	if st.ForEachStrategy != "" && st.ForEach == "" {
		return errors.NewNotValid(nil, "step foreach_strategy can't be set without foreach")
	}

	if st.ForEach != "" {
		switch st.ForEachStrategy {
		case ForEachStrategyParallel, ForEachStrategySequence:
		case "":
			// expliciting default value
			st.ForEachStrategy = ForEachStrategyParallel
		default:
			return errors.NewNotValid(nil, fmt.Sprintf("step foreach_strategy %q is not a valid value", st.ForEachStrategy))
		}
	}

	// valid execution delay
	if st.ExecutionDelay < 0 || st.ExecutionDelay > maxExecutionDelay {
		return errors.NewNotValid(nil,
			fmt.Sprintf("execution_delay: expected %s to be a duration between 0s and %s",
				st.ExecutionDelay, maxExecutionDelay))
	}

	// valid retry pattern, accept empty
	switch st.RetryPattern {
	case "", RetrySeconds, RetryMinutes, RetryHours:
	default:
		return errors.BadRequestf("Invalid retry pattern: %s Expecting(%s|%s|%s)", st.RetryPattern, RetrySeconds, RetryMinutes, RetryHours)
	}

	// valid custom states
	for _, cState := range st.CustomStates {
		if utils.ListContainsString(builtinStates, cState) {
			return errors.NewNotValid(nil,
				fmt.Sprintf(`Custom state %q is not allowed as it's a reserved state. Reserved state are: "%s"`,
					cState, strings.Join(builtinStates, `", "`)))
		}
	}

	// valid step conditions
	for _, sc := range st.Conditions {
		if st.ForEach != "" && sc.Type == condition.SKIP && sc.ForEach == "" {
			sc.ForEach = condition.ForEachChildren
		}
		if err := ValidCondition(sc, name, steps); err != nil {
			return err
		}
	}

	// normalize and validate json schema
	schema, err := jsonschema.NormalizeAndCompile(name, st.Schema)
	if err != nil {
		return errors.Annotatef(err, "Jsonschema: step %s", name)
	}
	st.Schema = schema

	// valid dependencies
	seenDependencies := map[string]bool{}
	for _, d := range st.Dependencies {
		// no orphan dependencies,
		depStep, depState := DependencyParts(d)
		s, ok := steps[depStep]
		if !ok {
			return errors.BadRequestf("Invalid dependency, no step with that name: %q", depStep)
		}
		if _, ok := seenDependencies[depStep]; ok {
			return errors.BadRequestf("Invalid dependency, already defined dependency to: %q", depStep)
		}
		if duplicated := utils.HasDupsArray(depState); duplicated {
			return errors.BadRequestf("Invalid dependency, duplicated state detected")
		}
		for _, state := range depState {
			switch state {
			case StateDone:
			case StateAny:
				if len(depState) != 1 {
					return errors.BadRequestf("Invalid dependency, no other state allowed if ANY is declared")
				}
			default:
				if !utils.ListContainsString(s.CustomStates, state) {
					return errors.BadRequestf("Invalid dependency on step %s, step state not allowed: %q", depStep, state)
				}
			}
		}
		seenDependencies[depStep] = true
	}

	// no circular dependencies,
	sourceChain := dependenciesChain(steps, st.Dependencies)
	if utils.ListContainsString(sourceChain, name) {
		sort.Strings(sourceChain)
		return errors.BadRequestf("Invalid: circular dependency %v <-> %s", sourceChain, name)
	}

	return nil
}

// ValidAndNormalizeNewStep will validate that a given step doesn't have extragenous fields defined
// when coming from a task_template.
func (st *Step) ValidAndNormalizeNewStep() error {
	// check that we don't set restricted field from the template
	if st.State != "" {
		return errors.NewNotValid(nil, "step state must not be set")
	}

	if st.ChildrenSteps != nil {
		return errors.NewNotValid(nil, "step children_steps must not be set")
	}

	if st.ChildrenStepMap != nil {
		return errors.NewNotValid(nil, "step children_steps_map must not be set")
	}

	if st.Output != nil {
		return errors.NewNotValid(nil, "step output must not be set")
	}

	if st.Metadata != nil {
		return errors.NewNotValid(nil, "step metadatas must not be set")
	}

	if st.Tags != nil {
		return errors.NewNotValid(nil, "step tags must not be set")
	}

	if st.Children != nil {
		return errors.NewNotValid(nil, "step children must not be set")
	}

	if st.Error != "" {
		return errors.NewNotValid(nil, "step error must not be set")
	}

	if st.TryCount != 0 {
		return errors.NewNotValid(nil, "step try_count must not be set")
	}

	t := time.Time{}
	if st.LastRun != t {
		return errors.NewNotValid(nil, "step last_time must not be set")
	}

	if st.Item != nil {
		return errors.NewNotValid(nil, "step item must not be set")
	}

	return nil
}

// IsRunnable asserts that Step is in a runnable state
func (st *Step) IsRunnable() bool {
	return utils.ListContainsString(runnableStates, st.State)
}

// IsRetriable asserts that Step is eligible for retry
func (st *Step) IsRetriable() bool {
	return utils.ListContainsString(retriableStates, st.State)
}

// IsFinal asserts that Step is in a final step (not to be run again)
func (st *Step) IsFinal() bool {
	return (st.State != StateRunning && !st.IsRunnable())
}

// IsChild asserts that Step was spawned by a foreach step
func (st *Step) IsChild() bool {
	return st.Item != nil
}

// ExecutorMetadata returns the step's runner metadata schema
func (st *Step) ExecutorMetadata() json.RawMessage {
	runner, err := getRunner(st.Action.Type)
	if err != nil {
		return []byte{}
	}

	return runner.MetadataSchema()
}

func (st *Step) walkThroughFunctions(f func(*functions.Function)) error {
	var runnerName = st.Action.Type
	for {
		runner, err := getRunner(runnerName)
		if err != nil {
			return err
		}

		functionRunner, ok := runner.(*functions.Function)
		if !ok {
			break
		}
		f(functionRunner)
		runnerName = functionRunner.Action.Type
	}
	return nil
}

// GetConditions returns the list of conditions of this step resolved (functions included)
func (st *Step) GetConditions() ([]*condition.Condition, error) {
	conditions := st.Conditions

	if err := st.walkThroughFunctions(func(functionRunner *functions.Function) {
		conditions = append(functionRunner.Conditions, conditions...)
	}); err != nil {
		return nil, err
	}
	return conditions, nil
}

// GetCustomStates returns the list of custom states of the Step (functions included)
func (st *Step) GetCustomStates() ([]string, error) {
	states := st.CustomStates

	if err := st.walkThroughFunctions(func(functionRunner *functions.Function) {
		states = utils.AppendUniq(states, functionRunner.CustomStates...)
	}); err != nil {
		return nil, err
	}
	return states, nil
}

// GetPreHook returns the prehook that need to be executed (function included)
func (st *Step) GetPreHook() (*executor.Executor, error) {
	preHook := st.PreHook

	if err := st.walkThroughFunctions(func(functionRunner *functions.Function) {
		if functionRunner.PreHook != nil {
			preHook = functionRunner.PreHook
		}
	}); err != nil {
		return nil, err
	}
	return preHook, nil

}

func (st *Step) CheckIfValidState() (bool, error) {
	for _, state := range builtinStates {
		if state == st.State {
			return true, nil
		}
	}

	states, err := st.GetCustomStates()
	if err != nil {
		return false, err
	}

	for _, state := range states {
		if state == st.State {
			return true, nil
		}
	}

	return false, nil
}

func annotateFunctions(functions []string, err error) error {
	for _, function := range functions {
		err = errors.Annotate(err, fmt.Sprintf("function %q", function))
	}
	return err
}

func validExecutor(baseConfigs map[string]json.RawMessage, ex executor.Executor, preHook *executor.Executor) (*executor.Executor, error) {
	if len(ex.BaseConfiguration) > 0 {
		if _, ok := baseConfigs[ex.BaseConfiguration]; !ok {
			return nil, errors.New("BaseConfiguration key not found")
		}
	}

	runnerType := ex.Type
	configuration := ex.Configuration
	var functionNames []string
	for {
		r, err := getRunner(runnerType)
		if err != nil {
			return nil, err
		}

		err = r.ValidConfig(baseConfigs[ex.BaseConfiguration], configuration)
		if err != nil {
			return nil, annotateFunctions(functionNames, err)
		}

		functionRunner, ok := r.(*functions.Function)
		if !ok {
			break
		}
		if utils.ListContainsString(functionNames, runnerType) {
			return nil, annotateFunctions(functionNames, fmt.Errorf("invalid cyclic import in function for %q", runnerType))
		}

		functionNames = append(functionNames, runnerType)

		runnerType, configuration = functionRunner.Action.Type, functionRunner.Action.Configuration
		if functionRunner.PreHook != nil {
			if preHook != nil {
				return functionRunner.PreHook, annotateFunctions(functionNames, errors.New("pre_hook override"))
			}
			preHook = functionRunner.PreHook
		}
	}

	return preHook, nil
}

// DependencyParts de-composes a Step's dependency into its constituent parts: step name + step state
// a dependency expressed only as a step name is equivalent to depending on that step being in DONE state
func DependencyParts(dep string) (string, []string) {
	var depStep string
	var depState []string
	parts := strings.SplitN(dep, ":", 2)
	depStep = parts[0]
	if len(parts) == 1 {
		depState = []string{StateDone}
	} else {
		depState = strings.Split(parts[1], ",")
	}
	return depStep, depState
}
// ValidCondition asserts that the definition for a StepCondition is valid
func ValidCondition(sc *condition.Condition, stepName string, steps map[string]*Step) error {
	if err := sc.Valid(); err != nil {
		return err
	}

	for _, c := range sc.If {
		if err := c.Valid(); err != nil {
			return err
		}
	}

	for thenStep, thenState := range sc.Then {
		// force the use of "this" for single steps
		// except in the case of "loop" steps: the condition will belong to its children,
		// they should be able to reference their parent (ie. break out and retry loop)
		if thenStep == stepName && steps[stepName].ForEach == "" {
			return errors.BadRequestf("Step condition should not reference itself, use '%s'", stepRefThis)
		}

		if thenStep == stepRefThis {
			thenStep = stepName
		}

		impactedStep, ok := steps[thenStep]
		if !ok {
			return errors.BadRequestf("Step condition points to non-existing step: %s", thenStep)
		}

		// As dependencies are in a known state (parents deps are DONE and childs steps are TODO)
		if !canImpactState(stepName, thenStep, steps) {
			return errors.BadRequestf("Step condition cannot impact the state of step %s, only those who belong to the dependency chain are allowed", thenStep)
		}

		customStates, err := impactedStep.GetCustomStates()
		if err != nil {
			return fmt.Errorf("invalid custom stats found for step %s: %s", stepName, err)
		}

		validStates := utils.AppendUniq(stepConditionValidStates, customStates...)
		if !utils.ListContainsString(validStates, thenState) {
			return errors.BadRequestf("Step condition implies invalid state for step %s: %s", thenStep, thenState)
		}
	}

	if sc.ForEach != "" {
		if steps[stepName].ForEach == "" {
			return errors.BadRequestf("Step condition cannot set foreach on a non-foreach step")
		}

		if sc.Type != condition.SKIP {
			return errors.BadRequestf("Step condition can set foreach on a skip condition")
		}
	}

	return nil
}

func canImpactState(sourceStep, destinationStep string, steps map[string]*Step) bool {
	if sourceStep == destinationStep {
		return true
	}
	sourceChain := dependenciesChain(steps, steps[sourceStep].Dependencies)
	destinationChain := dependenciesChain(steps, steps[destinationStep].Dependencies)

	return utils.ListContainsString(sourceChain, destinationStep) || utils.ListContainsString(destinationChain, sourceStep)
}

// dependenciesChain build a chain of dependencies given a list of dependencies, usually
// the step dependencies we want to check.
// This assume that every dependencies does exist.
func dependenciesChain(steps map[string]*Step, dependencies []string) []string {
	// Discard dependencies state
	chain := []string{}
	for _, dep := range dependencies {
		stepName, _ := DependencyParts(dep)

		// No duplicates
		if !utils.ListContainsString(chain, stepName) {
			chain = append(chain, stepName)
		}
	}

	for i := 0; i < len(chain); i++ {
		if steps[chain[i]] == nil {
			// 2nd level dependency may not exist
			// if that happens when validating a step, then that probably means that
			// the direct dependency has not been validated yet (non deterministic order).
			// continue to fail gracefully later
			continue
		}
		for _, stepDep := range steps[chain[i]].Dependencies {
			s, _ := DependencyParts(stepDep)

			// Grow the slice and avoid visited nodes
			if !utils.ListContainsString(chain, s) {
				chain = append(chain, s)
			}
		}
	}
	return chain
}
// Runner represents a component capable of executing a specific action,
// provided a configuration and a context
type Runner interface {
	Exec(stepName string, baseConfig json.RawMessage, config json.RawMessage, ctx interface{}) (interface{}, interface{}, map[string]string, error)
	ValidConfig(baseConfig json.RawMessage, config json.RawMessage) error
	Context(stepName string) interface{}
	Resources(baseConfig json.RawMessage, config json.RawMessage) []string
	MetadataSchema() json.RawMessage
}

var (
	runners     = map[string]Runner{}
	runnerslock sync.RWMutex
)

// RegisterRunner makes a named runner available for use in a Step's configuration
func RegisterRunner(name string, r Runner) error {
	runnerslock.Lock()
	_, exists := runners[name]
	if exists {
		return fmt.Errorf("Step executor conflict! '%s' executor registered twice", name)
	}
	runners[name] = r
	runnerslock.Unlock()
	return nil
}

func getRunner(t string) (Runner, error) {
	runnerslock.RLock()
	defer runnerslock.RUnlock()
	r, ok := runners[t]
	if !ok {
		return nil, fmt.Errorf("No runner for type '%s'", t)
	}
	return r, nil
}

// ResetRunners forgets every runner (oracle helper).
func ResetRunners() { runners = map[string]Runner{} }

var _ = time.Second
