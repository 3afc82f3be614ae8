//! The rise/fall state machine of a checked server, as HAProxy keeps it: one
//! counter `health` from 0 to rise+fall-1. The server is UP when
//! health >= rise. A success adds one, and on reaching `rise` jumps to the
//! top; a failure takes one off while above `rise`, otherwise drops to 0
//! (DOWN). A server starts at health = rise: UP, but one failed check takes
//! it DOWN and one passed check makes it fully UP, as in HAProxy.
//!
//! Pure: no clock, no sockets. `observe` reports a flip, and only a flip is
//! logged and rebalanced.

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The server answered as expected.
    Pass,
    /// It did not.
    Fail,
}

/// A change of state worth logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flip {
    /// It just went UP.
    Up,
    /// It just went DOWN.
    Down,
}

/// Where in its life cycle a server is, which chooses the check interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Fully up: `inter`.
    Up,
    /// Up, with failures counting down: `fastinter`.
    GoingDown,
    /// Fully down: `downinter`.
    Down,
    /// Down, with successes counting up: `fastinter`.
    GoingUp,
}

/// The health counter of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    rise: u32,
    fall: u32,
    health: u32,
}

impl Health {
    /// A server at start: UP, one failure away from DOWN.
    pub fn new(rise: u32, fall: u32) -> Health {
        let (rise, fall) = (rise.max(1), fall.max(1));
        Health {
            rise,
            fall,
            health: rise,
        }
    }

    fn top(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// True when the server takes traffic.
    pub fn is_up(&self) -> bool {
        self.health >= self.rise
    }

    /// Counts a check result; returns the flip it caused, if any.
    pub fn observe(&mut self, v: Verdict) -> Option<Flip> {
        let was_up = self.is_up();
        match v {
            Verdict::Pass => {
                if self.health < self.top() {
                    self.health += 1;
                    if self.health >= self.rise {
                        self.health = self.top();
                    }
                }
            }
            Verdict::Fail => {
                if self.health > self.rise {
                    self.health -= 1;
                } else {
                    self.health = 0;
                }
            }
        }
        match (was_up, self.is_up()) {
            (false, true) => Some(Flip::Up),
            (true, false) => Some(Flip::Down),
            _ => None,
        }
    }

    /// `on-error sudden-death`: an UP server is left so that this failure
    /// and one more take it DOWN.
    pub fn sudden_death(&mut self) {
        if self.health > self.rise {
            self.health = self.rise + 1;
        }
    }

    /// `on-error mark-down`: the next failure takes the server DOWN.
    pub fn mark_down(&mut self) {
        self.health = self.health.min(self.rise);
    }

    /// The phase, for choosing the next interval.
    pub fn phase(&self) -> Phase {
        match self.health {
            0 => Phase::Down,
            h if h == self.top() => Phase::Up,
            h if h >= self.rise => Phase::GoingDown,
            _ => Phase::GoingUp,
        }
    }

    /// HAProxy's `status: X/Y STATE` of a check log line: the passes
    /// towards `rise` while DOWN, the failures left before DOWN while UP.
    pub fn status(&self) -> String {
        if self.is_up() {
            format!("{}/{} UP", self.health - self.rise + 1, self.fall)
        } else {
            format!("{}/{} DOWN", self.health, self.rise)
        }
    }

    /// The counter itself, to tell whether a check changed anything.
    pub fn value(&self) -> u32 {
        self.health
    }

    /// HAProxy's words for it: "UP", "UP 1/3", "DOWN", "DOWN 1/2".
    pub fn describe(&self) -> String {
        match self.phase() {
            Phase::Up => "UP".into(),
            Phase::Down => "DOWN".into(),
            // As HAProxy shows it: the failures it can still take.
            Phase::GoingDown => format!("UP {}/{}", self.health - self.rise + 1, self.fall),
            Phase::GoingUp => format!("DOWN {}/{}", self.health, self.rise),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Fail, Pass};

    fn run(h: &mut Health, vs: &[Verdict]) -> Vec<Option<Flip>> {
        vs.iter().map(|v| h.observe(*v)).collect()
    }

    #[test]
    fn status_words_of_check_lines() {
        let mut h = Health::new(2, 2);
        assert_eq!(h.status(), "1/2 UP");
        h.observe(Verdict::Pass);
        assert_eq!(h.status(), "2/2 UP");
        h.observe(Verdict::Fail);
        assert_eq!(h.status(), "1/2 UP");
        h.observe(Verdict::Fail);
        assert_eq!(h.status(), "0/2 DOWN");
        h.observe(Verdict::Pass);
        assert_eq!(h.status(), "1/2 DOWN");
    }

    #[test]
    fn one_failure_at_start_takes_it_down() {
        let mut h = Health::new(2, 3);
        assert!(h.is_up());
        assert_eq!(h.observe(Fail), Some(Flip::Down));
    }

    #[test]
    fn one_success_at_start_makes_it_fully_up() {
        let mut h = Health::new(2, 3);
        assert_eq!(h.observe(Pass), None);
        assert_eq!(h.phase(), Phase::Up);
        // Then it takes `fall` failures.
        assert_eq!(
            run(&mut h, &[Fail, Fail, Fail]),
            [None, None, Some(Flip::Down)]
        );
    }

    #[test]
    fn rise_successes_bring_it_back() {
        let mut h = Health::new(2, 3);
        h.observe(Fail);
        assert_eq!(h.describe(), "DOWN");
        assert_eq!(h.observe(Pass), None);
        assert_eq!(h.describe(), "DOWN 1/2");
        assert_eq!(h.phase(), Phase::GoingUp);
        assert_eq!(h.observe(Pass), Some(Flip::Up));
        assert_eq!(h.describe(), "UP");
    }

    #[test]
    fn a_failure_while_going_up_starts_over() {
        let mut h = Health::new(3, 3);
        h.observe(Fail);
        run(&mut h, &[Pass, Pass]);
        assert_eq!(h.observe(Fail), None);
        assert_eq!(h.describe(), "DOWN");
        assert_eq!(
            run(&mut h, &[Pass, Pass, Pass]),
            [None, None, Some(Flip::Up)]
        );
    }

    #[test]
    fn going_down_is_shown_and_recovers() {
        let mut h = Health::new(2, 3);
        h.observe(Pass);
        h.observe(Fail);
        // HAProxy's page: two more failures to go (health - rise + 1).
        assert_eq!(h.describe(), "UP 2/3");
        assert_eq!(h.phase(), Phase::GoingDown);
        h.observe(Fail);
        assert_eq!(h.describe(), "UP 1/3");
        h.observe(Pass);
        assert_eq!(h.describe(), "UP");
    }

    #[test]
    fn rise_and_fall_of_one() {
        let mut h = Health::new(1, 1);
        assert_eq!(
            run(&mut h, &[Fail, Pass, Fail, Pass]),
            [
                Some(Flip::Down),
                Some(Flip::Up),
                Some(Flip::Down),
                Some(Flip::Up)
            ]
        );
    }

    #[test]
    fn sudden_death_leaves_one_failure_and_mark_down_none() {
        // rise 2, fall 3: fully up at 4.
        let mut h = Health::new(2, 3);
        h.observe(Verdict::Pass);
        assert_eq!(h.value(), 4);
        h.sudden_death();
        assert_eq!(h.observe(Verdict::Fail), None);
        assert!(h.is_up());
        assert_eq!(h.observe(Verdict::Fail), Some(Flip::Down));
        let mut h = Health::new(2, 3);
        h.observe(Verdict::Pass);
        h.mark_down();
        assert_eq!(h.observe(Verdict::Fail), Some(Flip::Down));
    }
}
