// hippocam_cells: one NEST node model, ``hippocam_lif``, for graph cells NEST's built-in models cannot be.
//
// Written for hippocam (backends/nest/extension.py compiles it against the installed NEST). It runs the discrete
// model of hippocam's refsim, in refsim's order of operations, with refsim's per-step decays as they are:
//
//   cur = current arrivals of the previous step + recurrent arrivals of this step
//   I   = decay_syn * I + cur
//   V   = E_L + decay_m * (V - E_L) + I + delta arrivals of this step
//   V >= V_th: spike; V = V - V_sub if subtract (reset by subtraction), else V = V_reset
//
// Receptor 0 ("delta") acts on V in the step a spike arrives, as iaf_psc_delta; receptor 1 ("current") joins I
// after the step it arrives in, as iaf_psc_exp's currents do (the one step current-based cells lag); receptor 2
// ("recurrent") joins I in the step it arrives in, so that a layer's own spikes, sent with NEST's shortest delay
// of one step, reach its currents when refsim's one-step recurrent hop does.  Weights are in mV (of V, or of I per
// step), decays are per step: no capacitance, no exponential integration, no refractory time.
// NEST's config.h says it was built with Boost, which only its sorting and its type names in messages use; pip's
// NEST ships no Boost headers, so a module compiled against it does without
#include "config.h"
#undef HAVE_BOOST

#include "nest_extension_interface.h"

#include "archiving_node.h"
#include "event.h"
#include "ring_buffer.h"
#include "universal_data_logger_impl.h"

#include <cmath>
#include <string>

namespace hippocam
{

class hippocam_lif : public nest::ArchivingNode
{
public:
  enum Receptor
  {
    DELTA = 0,
    CURRENT,
    RECURRENT,
    N_RECEPTORS
  };

  hippocam_lif();
  hippocam_lif( const hippocam_lif& );

  using nest::Node::handle;
  using nest::Node::handles_test_event;

  size_t send_test_event( nest::Node& target, size_t receptor, nest::synindex, bool ) override
  {
    nest::SpikeEvent e;
    e.set_sender( *this );
    return target.handles_test_event( e, receptor );
  }
  size_t handles_test_event( nest::SpikeEvent&, size_t receptor ) override
  {
    if ( receptor >= N_RECEPTORS )
    {
      throw nest::UnknownReceptorType( receptor, get_name() );
    }
    return receptor;
  }
  size_t handles_test_event( nest::DataLoggingRequest& dlr, size_t receptor ) override
  {
    if ( receptor != 0 )
    {
      throw nest::UnknownReceptorType( receptor, get_name() );
    }
    return logger_.connect_logging_device( dlr, recordables_ );
  }
  void handle( nest::SpikeEvent& e ) override
  {
    const long at = e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() );
    arrivals_[ e.get_rport() ].add_value( at, e.get_weight() * e.get_multiplicity() );
  }
  void handle( nest::DataLoggingRequest& e ) override
  {
    logger_.handle( e );
  }

  void get_status( Dictionary& d ) const override;
  void set_status( const Dictionary& d ) override;

  double get_V_m() const
  {
    return V_m_;
  }
  double get_I_syn() const
  {
    return I_syn_;
  }

private:
  void init_buffers_() override;
  void pre_run_hook() override;
  void update( nest::Time const& origin, const long from, const long to ) override;

  friend class nest::RecordablesMap< hippocam_lif >;
  friend class nest::UniversalDataLogger< hippocam_lif >;

  // parameters (mV, or per step)
  double E_L_ = 0.0;
  double V_th_ = 1.0;
  double V_reset_ = 0.0;
  double V_sub_ = 1.0;     // what a spike subtracts when subtract_ is set
  double subtract_ = 0.0;  // 1: reset by subtraction, 0: to V_reset (a number: PyNN hands NEST floats)
  double decay_m_ = 1.0;
  double decay_syn_ = 0.0;
  // state (mV)
  double V_m_ = 0.0;
  double I_syn_ = 0.0;
  double pending_ = 0.0;   // current arrivals of the step before: they join I in this one

  nest::RingBuffer arrivals_[ N_RECEPTORS ];
  nest::UniversalDataLogger< hippocam_lif > logger_;
  static nest::RecordablesMap< hippocam_lif > recordables_;
};

}  // namespace hippocam

namespace nest
{
template <>
void
RecordablesMap< hippocam::hippocam_lif >::create()
{
  insert_( "V_m", &hippocam::hippocam_lif::get_V_m );
  insert_( "I_syn", &hippocam::hippocam_lif::get_I_syn );
}
}  // namespace nest

namespace hippocam
{

nest::RecordablesMap< hippocam_lif > hippocam_lif::recordables_;

hippocam_lif::hippocam_lif()
  : nest::ArchivingNode()
  , logger_( *this )
{
  recordables_.create();
}

hippocam_lif::hippocam_lif( const hippocam_lif& n )
  : nest::ArchivingNode( n )
  , E_L_( n.E_L_ )
  , V_th_( n.V_th_ )
  , V_reset_( n.V_reset_ )
  , V_sub_( n.V_sub_ )
  , subtract_( n.subtract_ )
  , decay_m_( n.decay_m_ )
  , decay_syn_( n.decay_syn_ )
  , V_m_( n.V_m_ )
  , I_syn_( n.I_syn_ )
  , pending_( n.pending_ )
  , logger_( *this )
{
}

void
hippocam_lif::get_status( Dictionary& d ) const
{
  d[ "E_L" ] = E_L_;
  d[ "V_th" ] = V_th_;
  d[ "V_reset" ] = V_reset_;
  d[ "V_sub" ] = V_sub_;
  d[ "subtract" ] = subtract_;
  d[ "decay_m" ] = decay_m_;
  d[ "decay_syn" ] = decay_syn_;
  d[ "V_m" ] = V_m_;
  d[ "I_syn" ] = I_syn_;
  nest::ArchivingNode::get_status( d );
  d[ "recordables" ] = recordables_.get_list();
  Dictionary receptors;
  receptors[ "delta" ] = static_cast< long >( DELTA );
  receptors[ "current" ] = static_cast< long >( CURRENT );
  receptors[ "recurrent" ] = static_cast< long >( RECURRENT );
  d[ "receptor_types" ] = receptors;
}

void
hippocam_lif::set_status( const Dictionary& d )
{
  // all or nothing: checked on copies before anything is kept
  double E_L = E_L_, V_th = V_th_, V_reset = V_reset_, V_sub = V_sub_, subtract = subtract_, decay_m = decay_m_;
  double decay_syn = decay_syn_;
  double V_m = V_m_, I_syn = I_syn_;
  d.update_value( "E_L", E_L );
  d.update_value( "V_th", V_th );
  d.update_value( "V_reset", V_reset );
  d.update_value( "V_sub", V_sub );
  d.update_value( "subtract", subtract );
  d.update_value( "decay_m", decay_m );
  d.update_value( "decay_syn", decay_syn );
  d.update_value( "V_m", V_m );
  d.update_value( "I_syn", I_syn );
  if ( not( decay_m >= 0.0 and decay_m <= 1.0 and decay_syn >= 0.0 and decay_syn <= 1.0 ) )
  {
    throw nest::BadProperty( "decay_m and decay_syn are per-step decays in [0, 1]." );
  }
  if ( subtract != 0.0 and subtract != 1.0 )
  {
    throw nest::BadProperty( "subtract is 1 (reset by subtraction) or 0 (reset to V_reset)." );
  }
  nest::ArchivingNode::set_status( d );
  E_L_ = E_L;
  V_th_ = V_th;
  V_reset_ = V_reset;
  V_sub_ = V_sub;
  subtract_ = subtract;
  decay_m_ = decay_m;
  decay_syn_ = decay_syn;
  V_m_ = V_m;
  I_syn_ = I_syn;
}

void
hippocam_lif::init_buffers_()
{
  for ( auto& b : arrivals_ )
  {
    b.clear();
  }
  logger_.reset();
  nest::ArchivingNode::clear_history();
}

void
hippocam_lif::pre_run_hook()
{
  logger_.init();
}

void
hippocam_lif::update( nest::Time const& origin, const long from, const long to )
{
  for ( long lag = from; lag < to; ++lag )
  {
    const double cur = pending_ + arrivals_[ RECURRENT ].get_value( lag );
    I_syn_ = decay_syn_ * I_syn_ + cur;
    V_m_ = E_L_ + decay_m_ * ( V_m_ - E_L_ ) + I_syn_ + arrivals_[ DELTA ].get_value( lag );
    pending_ = arrivals_[ CURRENT ].get_value( lag );
    if ( V_m_ >= V_th_ )
    {
      V_m_ = subtract_ != 0.0 ? V_m_ - V_sub_ : V_reset_;
      set_spiketime( nest::Time::step( origin.get_steps() + lag + 1 ) );
      nest::SpikeEvent se;
      nest::kernel().event_delivery_manager.send( *this, se, lag );
    }
    logger_.record_data( origin.get_steps() + lag );
  }
}

class Module : public nest::NESTExtensionInterface
{
public:
  void initialize() override
  {
    nest::register_node_model< hippocam_lif >( "hippocam_lif", "" );
  }
};

}  // namespace hippocam

// NEST's loader looks this symbol up by name
hippocam::Module hippocam_cells_LTX_module;
