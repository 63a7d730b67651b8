package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// servingLine is how the bare handler says where it listens, as Keyhole
// does ("Keyhole is serving on URL").
const servingLine = "Bare handler is serving on"

// process is a server the harness started as a child: Keyhole or the bare
// handler. It dies with the harness (SIGKILL on the harness's death).
type process struct {
	name string
	cmd  *exec.Cmd
	// startRSS is the resident set once it answered its health check.
	startRSS int64
	base     string // http://127.0.0.1:port
	addr     string // 127.0.0.1:port
	logPath  string
	exited   chan struct{}
	waitErr  error
}

// startProcess starts cmd, whose standard error goes to logPath, and
// returns once it has printed where it listens and health answers 200
// there.
func startProcess(ctx context.Context, name string, cmd *exec.Cmd, logPath, health string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	serving := make(chan string, 1)
	go func() {
		sent := false
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			if _, u, ok := strings.Cut(sc.Text(), "is serving on "); ok && !sent {
				serving <- strings.TrimSpace(u)
				sent = true
			}
		}
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	select {
	case p.base = <-serving:
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before serving: %v%s", name, p.waitErr, p.logTail())
	case <-wait.Done():
		p.kill()
		return nil, fmt.Errorf("%s did not say where it listens: %w%s", name, wait.Err(), p.logTail())
	}
	u, err := url.Parse(p.base)
	if err != nil || u.Scheme != "http" {
		p.kill()
		return nil, fmt.Errorf("%s serves on %q, want an http:// URL", name, p.base)
	}
	p.addr = u.Host
	for {
		req, _ := http.NewRequestWithContext(wait, http.MethodGet, p.base+health, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.startRSS, err = p.memory("VmRSS")
				return p, err
			}
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited: %v%s", name, p.waitErr, p.logTail())
		case <-wait.Done():
			p.kill()
			return nil, fmt.Errorf("%s at %s: %s did not answer 200%s", name, p.base, health, p.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop asks the server to shut down (SIGTERM) and waits for it, killing it
// after 15 s. It returns an error if the server had already exited.
func (p *process) stop() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited during the run: %v%s", p.name, p.waitErr, p.logTail())
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.kill()
	}
	return nil
}

func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// alive reports an error if the server has exited.
func (p *process) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited: %v%s", p.name, p.waitErr, p.logTail())
	default:
		return nil
	}
}

// logTail is the end of the server's log, for an error message.
func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n--- end of " + filepath.Base(p.logPath) + " ---\n" + string(b)
}

// peakRSS is the kernel's record of the process's peak resident set
// (VmHWM), in bytes.
func (p *process) peakRSS() (int64, error) { return p.memory("VmHWM") }

// memory reads a figure of /proc/PID/status, in bytes.
func (p *process) memory(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/PID/status", field)
}

// clockTick is the unit of /proc/PID/stat's CPU times: USER_HZ, 100 on
// every Linux this runs on.
const clockTick = 10 * time.Millisecond

// cpuTime is the CPU time (user and system, all threads) the process has
// used so far.
func (p *process) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name in parentheses; utime and stime
	// are the 14th and 15th of the line.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// ownCPU is the CPU time the harness itself (the load generator) has used.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU returns the busy, stolen and total CPU time of the whole
// machine so far, all cores (from /proc/stat), in clock ticks. Busy is
// everything but idle and I/O wait, steal (time the hypervisor gave to
// others) included.
func machineCPU() (busy, steal, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, 0
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice,
	// already counted in user and nice]
	for i, v := range f[1:min(len(f), 9)] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
		if i == 7 {
			steal = n
		}
	}
	return busy, steal, total
}
