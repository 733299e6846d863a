/**
 * A customer's inputs, one at a time: the next goes to their actors only once what the previous one caused is
 * committed (its unit, or its outputs logged after it), so a refused unit never leaves a decision made from an input the
 * log lacks. Other customers' inputs go on meanwhile: their units share the group commits.
 */
export type Release = (after?: Promise<unknown>) => void;

export class CustomerTurns {
  /** Per customer, the end of the last input's turn (a customer without one has nothing under way). */
  private last = new Map<string, Promise<void>>();

  /**
   * The customer's turn, once their previous input's is over (at once when none is under way). The release it gives
   * ends it, or (`after`) ends it once that settles.
   */
  next(customerId: string): Release | Promise<Release> {
    const previous = this.last.get(customerId);
    let ended!: () => void;
    const mine = new Promise<void>((ok) => {
      ended = ok;
    });
    this.last.set(customerId, mine);
    const end = () => {
      if (this.last.get(customerId) === mine) this.last.delete(customerId);
      ended();
    };
    const release: Release = (after) => {
      if (after) after.then(end, end);
      else end();
    };
    return previous ? previous.then(() => release) : release;
  }
}
