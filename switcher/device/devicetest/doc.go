// Package devicetest holds what the firmware drivers' tests share: the
// bound a hung call must end within, a goroutine-leak check, a dialer
// that counts connections, a closed address, and the scenarios every
// driver runs against its emulator (internal/emu): a hung rig, a lying
// rig, a slow restart, a closed port, and many rigs through one driver.
// Each scenario checks what every driver must do and returns the errors
// or reading for the driver's own checks. It is imported by _test files
// only and mocks nothing: every helper works on real TCP and emulated
// rigs.
package devicetest
