package values

const (
	InputKey         = "input"
	FunctionsArgsKey = "function_args"
	ResolverInputKey = "resolver_input"
	StepKey          = "step"
	ConfigKey        = "config"
	TaskKey          = "task"
	VarKey           = "var"
	IteratorKey      = "iterator"
)

type Variable struct {
	Name              string      `json:"name"`
	Expression        string      `json:"expression"`
	ExpressionTimeout string      `json:"expression_timeout"`
	Value             interface{} `json:"value"`
	evalCachedResult  interface{}
}
