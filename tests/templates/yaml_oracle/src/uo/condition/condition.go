package condition

import (
	"regexp"
	"strings"

	"github.com/juju/errors"
)
const (
	EQ        = "EQ"
	NE        = "NE"
	GT        = "GT"
	LT        = "LT"
	GE        = "GE"
	LE        = "LE"
	REGEXP    = "REGEXP"
	NOTREGEXP = "NOTREGEXP"
	IN        = "IN"
	NOTIN     = "NOTIN"

	defaultSeparator = ","
)
type Assert struct {
	Value         string `json:"value"`
	Operator      string `json:"operator"`
	Expected      string `json:"expected"`
	ListSeparator string `json:"list_separator"`
	Message       string `json:"message"`
}
func (a *Assert) Valid() error {
	if a != nil {
		switch strings.ToUpper(a.Operator) {
		case EQ, NE, GT, LT, GE, LE, IN, NOTIN:
		case REGEXP, NOTREGEXP:
			if _, err := regexp.Compile(a.Expected); err != nil {
				return err
			}
		default:
			return errors.BadRequestf("Unknown condition operator: %s", a.Operator)
		}
	}
	return nil
}
const (
	SKIP  = "skip"
	CHECK = "check"
)
const (
	// ForEachChildren executes the condition on the children of a foreach step.
	// The children are created, the condition is copied in them, then run.
	// This is the default value.
	ForEachChildren = "children"
	// ForEachParent executes the condition on the foreach step itself.
	ForEachParent = "parent"
)
type Condition struct {
	Type    string            `json:"type"`
	If      []*Assert         `json:"if"`
	Then    map[string]string `json:"then"`
	Final   bool              `json:"final"`
	ForEach string            `json:"foreach"`
	Message string            `json:"message"`
}
func (c *Condition) Valid() error {
	if c == nil {
		return nil
	}

	switch c.Type {
	case SKIP, CHECK:
	default:
		return errors.BadRequestf("Unknown condition type: %s", c.Type)
	}

	switch c.ForEach {
	case "", ForEachChildren, ForEachParent:
	default:
		return errors.BadRequestf("Unknown condition foreach: %s", c.ForEach)
	}

	return nil
}
