// Package rigname is the one rule for the name a rig (a Stratum worker)
// may have, shared by the proxy, which refuses an authorize with any other
// name, and the switcher, which keeps records only of such names. Neither
// imports the other.
package rigname
