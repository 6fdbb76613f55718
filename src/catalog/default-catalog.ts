// The default event catalog: the single source of truth for what tally accepts.
// The server allowlist, the emitter's event type, the dashboard's rows and rates
// and `explain` are all derived from this object.
import type { CatalogDefinition } from "./catalog.js";

export const defaultCatalog = {
  events: [
    {
      name: "suggestion_shown",
      description: "A suggestion was displayed to the viewer.",
      surface: "suggestion panel",
      privacyClass: "usage-count",
    },
    {
      name: "suggestion_accepted",
      description: "The viewer accepted a suggestion as offered.",
      surface: "suggestion panel",
      privacyClass: "usage-count",
    },
    {
      name: "suggestion_skipped",
      description: "The viewer dismissed a suggestion.",
      surface: "suggestion panel",
      privacyClass: "usage-count",
    },
    {
      name: "suggestion_edited",
      description: "The viewer accepted a suggestion after editing it.",
      surface: "suggestion panel",
      privacyClass: "usage-count",
    },
    {
      name: "suggestion_undo",
      description: "The viewer undid an accepted suggestion.",
      surface: "editor",
      privacyClass: "usage-count",
    },
    {
      name: "embeddings_opt_in",
      description: "The viewer turned embeddings on.",
      surface: "settings",
      privacyClass: "preference-change",
    },
    {
      name: "embeddings_opt_out",
      description: "The viewer turned embeddings off.",
      surface: "settings",
      privacyClass: "preference-change",
    },
  ],
  rates: [
    { name: "accept_rate", numerator: "suggestion_accepted", denominator: "suggestion_shown" },
    { name: "skip_rate", numerator: "suggestion_skipped", denominator: "suggestion_shown" },
    { name: "edit_rate", numerator: "suggestion_edited", denominator: "suggestion_shown" },
    { name: "undo_rate", numerator: "suggestion_undo", denominator: "suggestion_accepted" },
  ],
} as const satisfies CatalogDefinition;

/** An event name of the default catalog: a misspelt event is a type error. */
export type DefaultEventName = (typeof defaultCatalog.events)[number]["name"];
