// The default event catalog: the single source of truth for what tally accepts.
// Its names come from the wire contract (src/contract/), so the emitter's event
// type and the server's allowlist cannot disagree; this file adds what each
// event means. The server allowlist, the dashboard's rows and rates and
// `explain` are all derived from the object below.
import { DEFAULT_EVENT_NAMES, type DefaultEventName } from "../contract/index.js";
import type { CatalogDefinition, PrivacyClass } from "./catalog.js";

type Description = { description: string; surface: string; privacyClass: PrivacyClass };

// A Record over DefaultEventName: an event missing here, or one the contract
// does not name, is a type error.
const described: Record<DefaultEventName, Description> = {
  suggestion_shown: {
    description: "A suggestion was displayed to the viewer.",
    surface: "suggestion panel",
    privacyClass: "usage-count",
  },
  suggestion_accepted: {
    description: "The viewer accepted a suggestion as offered.",
    surface: "suggestion panel",
    privacyClass: "usage-count",
  },
  suggestion_skipped: {
    description: "The viewer dismissed a suggestion.",
    surface: "suggestion panel",
    privacyClass: "usage-count",
  },
  suggestion_edited: {
    description: "The viewer accepted a suggestion after editing it.",
    surface: "suggestion panel",
    privacyClass: "usage-count",
  },
  suggestion_undo: {
    description: "The viewer undid an accepted suggestion.",
    surface: "editor",
    privacyClass: "usage-count",
  },
  embeddings_opt_in: {
    description: "The viewer turned embeddings on.",
    surface: "settings",
    privacyClass: "preference-change",
  },
  embeddings_opt_out: {
    description: "The viewer turned embeddings off.",
    surface: "settings",
    privacyClass: "preference-change",
  },
};

export const defaultCatalog = {
  events: DEFAULT_EVENT_NAMES.map((name) => ({ name, ...described[name] })),
  rates: [
    { name: "accept_rate", numerator: "suggestion_accepted", denominator: "suggestion_shown" },
    { name: "skip_rate", numerator: "suggestion_skipped", denominator: "suggestion_shown" },
    { name: "edit_rate", numerator: "suggestion_edited", denominator: "suggestion_shown" },
    { name: "undo_rate", numerator: "suggestion_undo", denominator: "suggestion_accepted" },
  ],
} satisfies CatalogDefinition;
