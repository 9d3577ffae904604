// Which screen is shown: a rune, no router library (one window, no URLs).

export type Route =
  | { name: 'loading' }
  | { name: 'welcome' }
  | { name: 'signin' }
  | { name: 'finalise' }
  | { name: 'forgot'; email?: string }
  | { name: 'support' }
  | { name: 'status' }
  | { name: 'coffre' }
  | { name: 'document'; id: string }
  | { name: 'organismes' }
  | { name: 'settings' };

let current = $state<Route>({ name: 'loading' });

export const router = {
  get route(): Route {
    return current;
  },
  go(route: Route): void {
    current = route;
  },
};
