// Package errors is a minimal stand-in for github.com/juju/errors: the constructors µTask's validation
// uses, with juju's message composition ("<annotation>: <cause>").
package errors

import "fmt"

type wrapped struct {
	message string
	cause   error
}

func (e *wrapped) Error() string {
	if e.cause == nil {
		return e.message
	}
	if e.message == "" {
		return e.cause.Error()
	}
	return e.message + ": " + e.cause.Error()
}

func New(message string) error                        { return &wrapped{message: message} }
func Errorf(format string, args ...interface{}) error  { return &wrapped{message: fmt.Sprintf(format, args...)} }
func BadRequestf(format string, args ...interface{}) error {
	return &wrapped{message: fmt.Sprintf(format, args...)}
}
func NotFoundf(format string, args ...interface{}) error {
	return &wrapped{message: fmt.Sprintf(format, args...) + " not found"}
}
func NewNotValid(err error, message string) error { return &wrapped{message: message, cause: err} }
func Annotate(err error, message string) error {
	if err == nil {
		return nil
	}
	return &wrapped{message: message, cause: err}
}
func Annotatef(err error, format string, args ...interface{}) error {
	if err == nil {
		return nil
	}
	return &wrapped{message: fmt.Sprintf(format, args...), cause: err}
}
func DeferredAnnotatef(err *error, format string, args ...interface{}) {
	if *err != nil {
		*err = Annotatef(*err, format, args...)
	}
}
