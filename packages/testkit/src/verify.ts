import { afterEach } from '@jest/globals';

/** A fake that can tell, at the end of a test, whether what it was told to expect happened. */
interface Verifiable {
  /** Throws an Error that says what was expected and never happened. */
  verify(): void;
}

const toVerify = new Set<Verifiable>();
/** Whether this test file (jest loads modules afresh for each) verifies its fakes after each test. */
let verifying = false;

/**
 * Verifies, and forgets, every fake registered since the last call; throws one Error naming all that
 * failed. verifyFakesAfterEachTest has it run after each test, so a fake need not be verified by hand.
 */
export function verifyFakes(): void {
  const fakes = [...toVerify];
  toVerify.clear();
  const failures: string[] = [];
  for (const fake of fakes) {
    try {
      fake.verify();
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

/**
 * Has the fakes made in each test of this file verified after it. Call it at the top level of a
 * test file, or of a module of fakes that test files import: hooks cannot be added once tests run.
 */
export function verifyFakesAfterEachTest(): void {
  if (verifying) return;
  verifying = true;
  afterEach(verifyFakes);
}

/**
 * Has `fake` verified after the test that made it, as gh's `httpmock.Registry.Verify` is deferred
 * in each of its tests: a test whose fake expected a call that never came fails, whatever it asserted.
 *
 * @example
 * const answers = verifyAfterTest(new Script('prompt answers', ['y']));
 */
function verifyAfterTest<T extends Verifiable>(fake: T): T {
  if (!verifying) {
    throw new Error(
      'a fake was made where nothing verifies it: call verifyFakesAfterEachTest() at the top of the test file',
    );
  }
  toVerify.add(fake);
  return fake;
}

/**
 * What a fake hands out in order, one per call (prompt answers, errors to throw): each was scripted
 * for a call the test expects, so one left over at the end of the test fails it.
 */
export class Script<T> implements Verifiable {
  readonly #items: T[];

  /** `what` names the items in the failure message, e.g. "prompt answers". */
  constructor(
    readonly what: string,
    items: Iterable<T>,
  ) {
    this.#items = [...items];
    verifyAfterTest(this);
  }

  /** The next item, or undefined when all were used. */
  next(): T | undefined {
    return this.#items.shift();
  }

  verify(): void {
    if (this.#items.length > 0) {
      const left = this.#items.map((item) => (item instanceof Error ? item.message : JSON.stringify(item)));
      throw new Error(`${this.what}: ${left.length} scripted but never used: ${left.join(', ')}`);
    }
  }
}

/**
 * Calls a test says a fake must receive, checked against the calls the fake recorded: each
 * expected call must have been made (as often as it is expected; in any order, among others).
 */
export class ExpectedCalls implements Verifiable {
  readonly #expected: string[] = [];

  /** `made` is the fake's own record of its calls, read when verified. */
  constructor(
    readonly what: string,
    private readonly made: () => readonly string[],
  ) {}

  /** Adds calls to expect; registers the check for the end of the test. */
  expect(...calls: string[]): void {
    this.#expected.push(...calls);
    verifyAfterTest(this);
  }

  verify(): void {
    const left = [...this.made()];
    const missing = this.#expected.filter((call) => {
      const index = left.indexOf(call);
      if (index === -1) return true;
      left.splice(index, 1);
      return false;
    });
    if (missing.length > 0) {
      throw new Error(
        `${this.what}: expected ${missing.map((call) => JSON.stringify(call)).join(', ')}, never made; made: ${JSON.stringify(this.made())}`,
      );
    }
  }
}
